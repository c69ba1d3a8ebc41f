/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What nestvirt leaves behind when it is killed or refused, removed by the
 * next run that may: only files of our own naming, in our own directories.
 *
 * - STATE_DIR/DOMAIN/ is ours.  A save killed while writing leaves a
 *   temporary file (NAME.nvstate.tmp-XXXXXX); one killed between writing
 *   and referencing leaves a snapshot nothing references.  The next save
 *   of the domain, holding its lock, removes both.
 * - The hook lands incoming state before libvirt's prepare can refuse the
 *   domain, and nothing would load it then.  It notes what it landed in
 *   RUNTIME_DIR/landed/UUID; a restore that loads the state drops the note;
 *   the hook's release (or its own prepare refusal) removes a file still
 *   noted.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver-private.h"
#include "fileio.h"

#define SNAPSHOT_NAME_LEN (sizeof("YYYYmmddTHHMMSS.uuuuuuZ.nvstate") - 1)
#define TMP_SUFFIX ".tmp-XXXXXX"

static bool all_digits(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return true;
}

/* 1: a snapshot name nv_state_file_path() makes; 2: its temporary file; 0: not ours. */
static int our_name(const char *n) {
        size_t len = strlen(n);

        if (len < SNAPSHOT_NAME_LEN || !all_digits(n, 8) || n[8] != 'T' || !all_digits(n + 9, 6) || n[15] != '.' ||
            !all_digits(n + 16, 6) || strncmp(n + 22, "Z.nvstate", 9) != 0)
                return 0;
        if (len == SNAPSHOT_NAME_LEN)
                return 1;
        return len == SNAPSHOT_NAME_LEN + strlen(TMP_SUFFIX) && strncmp(n + SNAPSHOT_NAME_LEN, ".tmp-", 5) == 0 ? 2 : 0;
}

static bool meta_references(const NvNestedMeta *m, const char *path) {
        if (!m)
                return false;
        if (m->has_state && strcmp(m->state.path, path) == 0)
                return true;
        for (size_t i = 0; i < m->n_previous; i++)
                if (strcmp(m->previous[i].path, path) == 0)
                        return true;
        return false;
}

void nv_sweep_state_dir(NvDriver *d, const NvDomainEntry *e) {
        _cleanup_(nv_nested_meta_freep) NvNestedMeta *config = NULL;
        _cleanup_free_ char *dir = NULL;
        DIR *dd;

        if (asprintf(&dir, "%s/%s", d->state_dir, e->def->name) < 0 || !(dd = opendir(dir)))
                return;
        /* A reference only the persistent config holds keeps its file too; unreadable config: keep everything. */
        if (e->persistent && nv_conn_get_meta(d->conn, e->def->name, NV_AFFECT_CONFIG, &config, NULL) < 0) {
                closedir(dd);
                return;
        }
        for (struct dirent *de; (de = readdir(dd));) {
                _cleanup_free_ char *path = NULL;
                int kind = our_name(de->d_name);

                if (kind == 0 || asprintf(&path, "%s/%s", dir, de->d_name) < 0)
                        continue;
                if (kind == 2 || (!meta_references(e->def->meta, path) && !meta_references(config, path)))
                        (void) unlinkat(dirfd(dd), de->d_name, 0);
        }
        closedir(dd);
}

static int landed_note(const char *runtime_dir, const char *uuid, char **ret) {
        return asprintf(ret, "%s/landed/%s", runtime_dir, uuid) < 0 ? -ENOMEM : 0;
}

int nv_landed_note(const char *runtime_dir, const char *uuid, const char *path, NvError **reterr) {
        _cleanup_free_ char *dir = NULL, *note = NULL;
        int r;

        if (asprintf(&dir, "%s/landed", runtime_dir) < 0 || landed_note(runtime_dir, uuid, &note) < 0)
                return -ENOMEM;
        r = nv_mkdir_p(dir, 0700, reterr);
        return r < 0 ? r : nv_file_write_atomic(note, path, strlen(path), reterr);
}

void nv_landed_forget(const char *runtime_dir, const char *uuid) {
        _cleanup_free_ char *note = NULL;

        if (landed_note(runtime_dir, uuid, &note) >= 0)
                (void) unlink(note);
}

void nv_landed_remove(const char *runtime_dir, const char *state_dir, const NvDomainDef *def) {
        _cleanup_free_ char *note = NULL, *prefix = NULL, *path = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        const char *base;
        size_t len;

        if (landed_note(runtime_dir, def->uuid, &note) < 0 || nv_file_read(note, 4096, &buf, &len, NULL) < 0)
                return;
        /* Only a file of ours, directly in this domain's state directory, whatever the note says. */
        if (asprintf(&prefix, "%s/%s/", state_dir, def->name) >= 0 && (path = strndup((const char *) buf, len)) &&
            strncmp(path, prefix, strlen(prefix)) == 0) {
                base = path + strlen(prefix);
                if (!strchr(base, '/') && our_name(base) == 1)
                        (void) unlink(path);
        }
        (void) unlink(note);
}
