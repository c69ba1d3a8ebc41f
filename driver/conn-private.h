/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What conn.c shares with the driver files that call libvirt's CPU APIs; not installed. */
#pragma once

#include <libvirt/libvirt.h>

#include "conn.h"
#include "cpu-models.h"

typedef struct NvCpuMemo NvCpuMemo;

/* The connection now, with a reference of the caller's own (virConnectClose). */
virConnectPtr nv_conn_virt(NvConn *c);
/* What this connection learnt of CPU models (cpu-model.c); lives as long as c. */
NvCpuMemo *nv_conn_cpu_memo(NvConn *c);

NvCpuMemo *nv_cpu_memo_new(void);
NvCpuMemo *nv_cpu_memo_free(NvCpuMemo *m);
/* Forgets every answer (the daemon behind the connection changed). */
void nv_cpu_memo_clear(NvCpuMemo *m);
/* Sets def->cpu_has from libvirt (asked once per model and connection); unknown where libvirt cannot say. */
void nv_conn_learn_cpu(NvConn *c, NvDomainDef *def);
/* libvirt's expansion of cpu (virConnectBaselineHypervisorCPU, every feature listed) for def's emulator and type. */
int nv_conn_expand_cpu(virConnectPtr conn, const NvDomainDef *def, const NvCpuDef *cpu, NvCpuDef **ret, NvError **reterr);
/* This host's host-model CPU from libvirt's domain capabilities; -EOPNOTSUPP: the driver has none. */
int nv_conn_host_model(virConnectPtr conn, const NvDomainDef *def, NvCpuDef **ret, NvError **reterr);
/* A copy of what c learnt so far; free() it. */
int nv_conn_cpu_models(NvConn *c, NvCpuModels **ret);
