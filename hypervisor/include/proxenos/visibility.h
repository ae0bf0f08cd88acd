/*
 * Forced into every hypervisor compilation unit (-include). The image is
 * linked at 0xffff82d040000000, outside the +-2 GiB that -mcmodel=kernel
 * allows, so code is compiled position-independent; hidden visibility makes
 * every symbol reference a direct RIP-relative one instead of a GOT load.
 */
#pragma GCC visibility push(hidden)
