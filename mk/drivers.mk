# Host drivers: the ACPI table parser is portable and joins the kernel unit-test binary.
KERNEL_UNIT_SRC += drivers/acpi_tables.c
