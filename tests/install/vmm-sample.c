/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a VMM author compiles against the installed agent: checks headers and pkg-config. */
#include <nestvirt/agent.h>
#include <nestvirt/vmm-protocol.h>

static int pause_cb(void *u) {
        return 0;
}

int main(void) {
        NvAgentVmm vmm = { .pause = pause_cb, .resume = pause_cb };
        NvAgent *a = NULL;

        /* No VM given: the agent must refuse, with a message. */
        return nv_agent_new(&vmm, &a, NULL) == -EINVAL && !a ? 0 : 1;
}
