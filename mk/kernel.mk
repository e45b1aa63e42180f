# Kernel subsystems beyond the base directories: the block layer.
KSRC += $(wildcard blk/*.c)
