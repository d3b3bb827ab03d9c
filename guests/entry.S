/* guests/entry.S: where every vCPU starts (GUEST_IMAGE_BASE), in 64-bit
 * user mode with its index in RBX and its stack already set by the host. */
        .code64
        .section .text.entry, "ax"
        .globl _start
_start:
        cld
        movl %ebx, %edi         /* guest_main(vcpu) */
        call guest_main
        /* guest_main does not return; if it did, report and stop. */
        movl %ebx, %eax
        movw $0x510, %dx        /* GUEST_REPORT_PORT */
        outl %eax, %dx
1:      pause
        jmp 1b
        .section .note.GNU-stack, "", @progbits
