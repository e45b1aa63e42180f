#!/bin/sh
# Emit the .ksyms assembly table (sorted text symbols) for a linked kernel, or an empty one without an argument.
set -e
echo '    .section .ksyms, "a"'
echo '    .balign 8'
if [ -z "$1" ]; then
    printf '    .global ksyms_count, ksyms_addr, ksyms_name_off, ksyms_names\nksyms_count: .quad 0\nksyms_addr:\nksyms_name_off:\nksyms_names: .byte 0\n'
    exit 0
fi
nm -n "$1" | awk 'BEGIN { n = 0 } $2 ~ /^[tT]$/ && $3 !~ /^\./ { a[n] = $1; s[n] = $3; n++ }
END {
    print "    .global ksyms_count, ksyms_addr, ksyms_name_off, ksyms_names"
    print "ksyms_count: .quad " n
    print "ksyms_addr:"
    for (i = 0; i < n; i++) print "    .quad 0x" a[i]
    print "ksyms_name_off:"
    off = 0
    for (i = 0; i < n; i++) { print "    .long " off; off += length(s[i]) + 1 }
    print "ksyms_names:"
    for (i = 0; i < n; i++) print "    .asciz \"" s[i] "\""
}'
