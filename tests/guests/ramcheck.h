/* Whole-RAM patterns for the isolation guests (32-bit): word at address a holds a ^ pattern. */
/*
 * A guest's RAM: [0, IMAGE_BASE) free, its image from IMAGE_BASE to image_end (a label the guest puts
 * last in its .bss), free space up to its stack, the stack's top 1 KiB below STACK_HI (ESP starts
 * there), then free space to ram_end. fill_all/check_all cover every free word; the victim checksums
 * its image. Include after guest.h; the guest defines ram_end (.long) and image_end.
 */
#define IMAGE_BASE 0x10000
#define STACK_LO   0x7fc00
#define STACK_HI   0x80000
#define VICTIM_PATTERN 0x3c3ca5a5

/* Words [edi, edx) := address ^ ebx. Clobbers eax, edi. */
fill_range:
1:  cmp %edx, %edi
    jae 2f
    mov %edi, %eax
    xor %ebx, %eax
    mov %eax, (%edi)
    add $4, %edi
    jmp 1b
2:  ret

/* Check words [edi, edx) against address ^ ebx: edi = the first that differs, or >= edx. Clobbers eax. */
check_range:
1:  cmp %edx, %edi
    jae 2f
    mov %edi, %eax
    xor %ebx, %eax
    cmp %eax, (%edi)
    jne 2f
    add $4, %edi
    jmp 1b
2:  ret

/* Run range (fill_range or check_range, in ecx) over the three free regions; stop at a mismatch. */
each_region:
    xor %edi, %edi
    mov $IMAGE_BASE, %edx
    call *%ecx
    cmp %edx, %edi
    jb 1f
    mov $image_end, %edi
    mov $STACK_LO, %edx
    call *%ecx
    cmp %edx, %edi
    jb 1f
    mov $STACK_HI, %edi
    mov ram_end, %edx
    call *%ecx
1:  ret

/* Pattern ebx over every free word of RAM. Clobbers eax, ecx, edx, edi. */
fill_all:
    mov $fill_range, %ecx
    jmp each_region

/* eax = 0 when every free word holds its pattern (ebx), else 1 with edi = the first that does not. */
check_all:
    mov $check_range, %ecx
    call each_region
    xor %eax, %eax
    cmp %edx, %edi
    setb %al
    ret

/* eax = 1 when the words at edi and edi+4 are a victim's pattern (two consecutive addresses), else 0. */
victim_at:
    mov (%edi), %eax
    xor $VICTIM_PATTERN, %eax
    test $0xffc00003, %eax          /* a victim's own addresses: 4-aligned, below 4 MiB */
    jnz 1f
    add $4, %eax
    xor $VICTIM_PATTERN, %eax
    cmp %eax, 4(%edi)
    jne 1f
    mov $1, %eax
    ret
1:  xor %eax, %eax
    ret
