#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The translations: every catalog passes msgfmt --check (its format
# specifiers agree with the msgid's), and the built nestvirt, bound to the
# build tree's catalogs (NESTVIRT_LOCALEDIR), speaks German for
# LANGUAGE=de: its help, the command table, errors of its own and of the
# libraries below it.
set -u
NESTVIRT=$1
LOCALEDIR=$2 # the build tree's po/: de/LC_MESSAGES/nestvirt.mo
PODIR=$3     # the source tree's po/
DATA=$4      # tests/data
NESTVIRTD=$5
POLICY=$6    # the built data/org.nestvirt.policy, merged with the catalogs

. "$(dirname "$0")/tap.sh"

# LANGUAGE is honoured only in a locale other than C; C.UTF-8 is built into
# glibc (2.35 and later), so it needs no locales package.
LC_ALL=C.UTF-8 locale 2>&1 | grep -q 'Cannot set' && { echo "1..0 # SKIP no C.UTF-8 locale here"; exit 0; }
de() { LC_ALL=C.UTF-8 LANGUAGE=de NESTVIRT_LOCALEDIR=$LOCALEDIR "$NESTVIRT" "$@"; }

for po in "$PODIR"/*.po; do
        check "msgfmt --check $(basename "$po")" msgfmt --check -o /dev/null "$po"
done
check "the German catalog is built" test -r "$LOCALEDIR/de/LC_MESSAGES/nestvirt.mo"

out=$(de --help); rc=$?
check "--help exits 0" test $rc -eq 0
check "--help in German" contains "$out" "Aufruf: nestvirt [OPTION]... BEFEHL [ARG]..."
check "the command table (N_) in German" contains "$out" "  inspect        Snapshot-Datei oder Roh-Blob zeigen"
err=$(de frobnicate 2>&1 >/dev/null); rc=$?
check "unknown command exits 2" test $rc -eq 2
check "unknown command in German" contains "$err" "Fehler: Unbekannter Befehl 'frobnicate'. 'nestvirt --help' zeigt die Liste."
err=$(de demo --in-process --vcpus 99 2>&1 >/dev/null)
check "a command's error in German" contains "$err" "Fehler: --vcpus nimmt eine Zahl von 1 bis 64, nicht '99'."
out=$(de verify "$DATA/snapshots/header-tamper.nvstate" 2>&1); rc=$?
check "verify refuses a tampered snapshot" test $rc -eq 1
check "the core library's message in German" contains "$out" "Prüfsumme der Datei stimmt nicht (Bytes 0..8912): Kopf oder Eintragstabelle wurden verändert."
out=$(de verify "$DATA/snapshots/good.nvstate")
check "the validator's notes in German" contains "$out" "Hinweis: nicht geprüft: S4: ob die vCPU im SMM ist, ist unbekannt"

node=$(realpath "$DATA/../../data/examples/node.xml")
out=$(de -c "test://$node" migrate-check vmx-custom --src-caps "$DATA/caps-vmx-a.xml" --dest-caps "$DATA/caps-vmx-b.xml")
check "migrate-check's nested VMX lines in German" contains "$out" '  - verschachteltes VMX: dem Ziel fehlt vmx-shadow-vmcs, sekundäre prozessorbasierte VM-Ausführungssteuerung "VMCS shadowing" (Bit 14)'
out=$(LC_ALL=C.UTF-8 LANGUAGE=de NESTVIRT_LOCALEDIR=$LOCALEDIR "$NESTVIRTD" --help)
check "nestvirtd --help in German" contains "$out" "Aufruf: nestvirtd [--connect URI]"
out=$(de maintenance save-all --keep-frozen --frobnicate 2>&1)
check "maintenance's error in German" contains "$out" "Fehler:"
check "the polkit actions carry German messages" \
        grep -qF '<message xml:lang="de">Zum Sichern des Zustands der verschachtelten Virtualisierung einer virtuellen Maschine ist eine Authentifizierung nötig.</message>' "$POLICY"

out=$(LC_ALL=C LANGUAGE=de NESTVIRT_LOCALEDIR=$LOCALEDIR "$NESTVIRT" --help)
check "the C locale stays English" contains "$out" "Usage: nestvirt [OPTION]... COMMAND [ARG]..."

tap_end
