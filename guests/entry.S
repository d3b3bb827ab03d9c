/* guests/entry.S: where every vCPU starts (GUEST_IMAGE_BASE), with its
 * index in EBX and its stack already set by the host. */
        .code32
        .section .text.entry, "ax"
        .globl _start
_start:
        cld
        pushl %ebx              /* guest_main(vcpu) */
        call guest_main
1:      hlt                     /* guest_main does not return; if it did */
        jmp 1b
        .section .note.GNU-stack, "", @progbits
