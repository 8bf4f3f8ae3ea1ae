#!/usr/bin/env bash
# Runs tests against a real V4L2 driver: Debian's own kernel (linux-image-amd64) booted in QEMU (TCG) with the
# vivid virtual video driver loaded. The host root is shared read-only into the VM over virtio-9p and the VM
# chroots into it, so the build tree, GStreamer and v4l-utils run unchanged. A second, writable 9p share carries
# the results back.
#
# Usage: scripts/vm-test.sh [--build DIR] [--timeout S] [--vivid 'PARAMS'] [--fetch-only] [-- CMD [ARGS...]]
#   CMD runs inside the VM (in the chroot, cwd = this worktree) with VIGIL_VM_OUT set to the writable share and
#   VIGIL_BUILD to the build dir. Default CMD: tests/vm/run-vm-tests.sh.
#   Results protocol: CMD appends "PASS name" / "FAIL name: why" lines to $VIGIL_VM_OUT/results; its exit status
#   is reported too. Exit 0 only when CMD exited 0, at least one result was written and none failed.
#   The last line is always "vm-tests: N passed, M failed".
# The kernel package is fetched with `apt-get download` (never installed) and unpacked into
# build-vm/kernel/<version>/ (vmlinuz + the modules the VM needs); scripts/setup.sh does this via --fetch-only.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

BUILD=build
TIMEOUT=360
# Three capture-only vivid instances: 0 single-planar, 1 multi-planar, 2 single-planar (DMABUF import target);
# dma-contig allocator so VIDIOC_EXPBUF hands out real contiguous dmabufs.
VIVID="n_devs=3 node_types=0x1,0x1,0x1 multiplanar=1,2,1 allocators=1,1,1"
FETCH_ONLY=0
CMD=()
while [ $# -gt 0 ]; do
	case "$1" in
	--build) BUILD="$2"; shift 2 ;;
	--timeout) TIMEOUT="$2"; shift 2 ;;
	--vivid) VIVID="$2"; shift 2 ;;
	--fetch-only) FETCH_ONLY=1; shift ;;
	--) shift; CMD=("$@"); break ;;
	*) echo "usage: $0 [--build DIR] [--timeout S] [--vivid PARAMS] [--fetch-only] [-- CMD...]" >&2; exit 2 ;;
	esac
done
[ ${#CMD[@]} -gt 0 ] || CMD=(tests/vm/run-vm-tests.sh)

CACHE="$ROOT/build-vm"
summary() { echo "vm-tests: $1 passed, $2 failed"; }
die() {
	echo "vm-test: $*" >&2
	summary 0 1
	exit 1
}

# Modules in load order (paths under lib/modules/<ver>/kernel/).
MODULES=(
	drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_legacy_dev
	drivers/virtio/virtio_pci_modern_dev drivers/virtio/virtio_pci
	fs/netfs/netfs fs/fscache/fscache net/9p/9pnet net/9p/9pnet_virtio fs/9p/9p
	drivers/media/mc/mc drivers/media/rc/rc-core drivers/media/cec/core/cec drivers/media/v4l2-core/videodev
	drivers/media/v4l2-core/v4l2-dv-timings drivers/media/common/v4l2-tpg/v4l2-tpg
	drivers/media/common/videobuf2/videobuf2-common drivers/media/common/videobuf2/videobuf2-v4l2
	drivers/media/common/videobuf2/videobuf2-memops drivers/media/common/videobuf2/videobuf2-vmalloc
	drivers/media/common/videobuf2/videobuf2-dma-contig drivers/media/test-drivers/vivid/vivid
)

fetch_kernel() {
	local pkg ver dir tmp
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -1)
	[ -n "$pkg" ] || die "cannot resolve linux-image-amd64 with apt-cache (run apt-get update)"
	ver=${pkg#linux-image-}
	dir="$CACHE/kernel/$ver"
	if [ ! -f "$dir/.complete" ]; then
		tmp=$(mktemp -d "$CACHE/fetch.XXXXXX")
		(cd "$tmp" && apt-get download -q "$pkg" >/dev/null 2>&1) || { rm -rf "$tmp"; die "apt-get download $pkg failed"; }
		rm -rf "$dir" && mkdir -p "$dir/modules"
		dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -x -C "$tmp" ./boot "./lib/modules/$ver/kernel" ||
			{ rm -rf "$tmp"; die "cannot unpack $pkg"; }
		cp "$tmp/boot/vmlinuz-$ver" "$dir/vmlinuz"
		for m in "${MODULES[@]}"; do
			local f="$tmp/lib/modules/$ver/kernel/$m.ko"
			[ -f "$f" ] || f="$f.xz"
			[ -f "$f" ] || { rm -rf "$tmp"; die "$pkg has no module $m"; }
			case "$f" in
			*.xz) xz -dc "$f" >"$dir/modules/$(basename "$m").ko" ;;
			*) cp "$f" "$dir/modules/" ;;
			esac
		done
		rm -rf "$tmp"
		touch "$dir/.complete"
	fi
	KDIR="$dir"
}

mkdir -p "$CACHE"
fetch_kernel
[ "$FETCH_ONLY" -eq 1 ] && { echo "vm-test: kernel ready in $KDIR"; exit 0; }

command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (scripts/setup.sh installs qemu-system-x86)"
BUSYBOX=$(command -v busybox) || die "busybox missing (scripts/setup.sh installs busybox-static)"
ldd "$BUSYBOX" >/dev/null 2>&1 && die "busybox is not static (scripts/setup.sh installs busybox-static)"

# initramfs: static busybox, the modules, /init. Rebuilt when anything it contains changes.
INITRD="$CACHE/initrd-$(basename "$KDIR").cpio.gz"
stage=$(mktemp -d "$CACHE/initrd.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,dev,proc,sys,host,lib/modules}
cp "$BUSYBOX" "$stage/bin/busybox"
cp "$KDIR"/modules/*.ko "$stage/lib/modules/"
for m in "${MODULES[@]}"; do basename "$m"; done >"$stage/lib/modules/order"
cat >"$stage/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
say() { echo "vm-init: $*" >/dev/console; }
finish() {
	echo "VIGIL-VM-DONE rc=$1" >/dev/console
	sync
	poweroff -f
}
vivid=$(sed -n 's/.*vigil.vivid="\([^"]*\)".*/\1/p' /proc/cmdline)
for m in $(cat /lib/modules/order); do
	params=""
	[ "$m" = vivid ] && params="$vivid"
	insmod /lib/modules/$m.ko $params || { say "insmod $m failed"; finish 90; }
done
mount -t 9p -o trans=virtio,version=9p2000.L,ro host /host || { say "mount host failed"; finish 91; }
for d in proc sys dev; do mount --bind /$d /host/$d; done
mount -t tmpfs run /host/run
mkdir -p /host/run/vm-out /host/dev/shm /host/dev/pts
mount -t tmpfs shm /host/dev/shm
mount -t 9p -o trans=virtio,version=9p2000.L out /host/run/vm-out || { say "mount out failed"; finish 92; }
cmd=$(cat /host/run/vm-out/cmd)
wd=$(cat /host/run/vm-out/cwd)
# a writable /tmp; a project that lives under the host's /tmp (a CI clone) stays visible through it
case "$wd" in
/tmp/*)
	top=/tmp/$(echo "${wd#/tmp/}" | cut -d/ -f1)
	mkdir -p /host/run/vm-keep
	mount --bind "/host$top" /host/run/vm-keep || { say "bind $top failed"; finish 93; }
	mount -t tmpfs tmp /host/tmp
	mkdir -p "/host$top"
	mount --bind /host/run/vm-keep "/host$top" || { say "bind $top back failed"; finish 93; }
	;;
*)
	mount -t tmpfs tmp /host/tmp
	;;
esac
cd /host
say "running in $wd: $cmd"
chroot /host /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME=/tmp TMPDIR=/tmp \
	VIGIL_VM_OUT=/run/vm-out VIGIL_BUILD="$(cat /host/run/vm-out/build)" LANG=C.UTF-8 \
	/bin/sh -c "cd '$wd' && exec $cmd" </dev/console >/dev/console 2>&1
finish $?
EOF
chmod +x "$stage/init"
(cd "$stage" && find . | "$BUSYBOX" cpio -o -H newc 2>/dev/null | gzip -1) >"$INITRD.tmp" && mv "$INITRD.tmp" "$INITRD"

OUT=$(mktemp -d "$CACHE/out.XXXXXX")
chmod 777 "$OUT"
printf '%q ' "${CMD[@]}" >"$OUT/cmd"
echo "$ROOT" >"$OUT/cwd"
case "$BUILD" in /*) echo "$BUILD" ;; *) echo "$ROOT/$BUILD" ;; esac >"$OUT/build"
: >"$OUT/results"
# GStreamer's plugin registry, scanned here: a scan of every plugin under TCG takes minutes
if command -v gst-inspect-1.0 >/dev/null; then
	GST_PLUGIN_PATH="$(cat "$OUT/build")/gst-plugin" GST_REGISTRY="$OUT/gst-registry.bin" gst-inspect-1.0 \
		>/dev/null 2>&1 || true
fi
LOG="$CACHE/console.log"

echo "vm-test: booting $(basename "$KDIR") (vivid $VIVID), timeout ${TIMEOUT}s; console log $LOG"
start=$(date +%s)
timeout --kill-after=5 "$TIMEOUT" qemu-system-x86_64 -accel tcg -m 2G -smp 2 -nographic -no-reboot \
	-kernel "$KDIR/vmlinuz" -initrd "$INITRD" \
	-append "console=ttyS0 quiet panic=-1 cma=256M vigil.vivid=\"$VIVID\"" \
	-virtfs local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap \
	-virtfs local,path="$OUT",mount_tag=out,security_model=none,multidevs=remap \
	-nic none </dev/null >"$LOG" 2>&1
qrc=$?
elapsed=$(($(date +%s) - start))
# show the test output (console minus kernel noise)
grep -v '^\[ *[0-9.]*\]' "$LOG" | tr -d '\r' | sed 's/^/  | /'

rc=$(tr -d '\r' <"$LOG" | sed -n 's/^VIGIL-VM-DONE rc=\([0-9]*\).*/\1/p' | tail -1)
passed=$(grep -c '^PASS ' "$OUT/results")
failed=$(grep -c '^FAIL ' "$OUT/results")
status=0
if [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then
	echo "vm-test: VM timed out after ${TIMEOUT}s" >&2
	failed=$((failed + 1))
	status=1
elif [ -z "$rc" ]; then
	echo "vm-test: the VM ended without reporting (qemu exit $qrc)" >&2
	failed=$((failed + 1))
	status=1
elif [ "$rc" -ne 0 ]; then
	echo "vm-test: the test command exited $rc" >&2
	[ "$failed" -gt 0 ] || failed=1
	status=1
fi
[ "$failed" -gt 0 ] && status=1
[ "$passed" -eq 0 ] && [ "$failed" -eq 0 ] && { echo "vm-test: no results written" >&2; failed=1; status=1; }
echo "vm-test: VM run took ${elapsed}s"
rm -rf "$OUT"
summary "$passed" "$failed"
exit "$status"
