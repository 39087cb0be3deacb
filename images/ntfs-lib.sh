#!/usr/bin/env bash
# Helpers shared by the images/ntfs-*.sh scripts (sourced, not run). Everything here drives real tools
# (mkntfs, ntfs-3g, sleuthkit); the small Python pieces only walk an ntfs-3g mount or poke single flag bits
# that no Linux tool can set (EFS, dirty flag, unpaired surrogates in names).

ntfs_mnt=""
ntfs_cleanup() { if [[ -n "$ntfs_mnt" ]] && mountpoint -q "$ntfs_mnt" 2>/dev/null; then umount "$ntfs_mnt" || umount -l "$ntfs_mnt"; fi; }

ntfs_mount() { # IMG MNT [options]
  ntfs_mnt="$2"; mkdir -p "$2"
  ntfs-3g -o "${3:-streams_interface=windows}" "$1" "$2"
}
ntfs_umount() { sync; umount "$ntfs_mnt"; ntfs_mnt=""; }

# Writes the ntfs-3g view of IMG as JSON (OUT): every entry with type, size, SHA-256, link target, and every
# alternate data stream (ntfs-3g exposes them as user.* xattrs with streams_interface=xattr).
ntfs_oracle_manifest() { # IMG OUT [SKIPDIR...]
  # Pass 1 (streams_interface=xattr): entries and stream names; pass 2 (streams_interface=windows): stream bytes
  # read as `path:stream` (xattr values stop at 64 KiB).
  local img="$1" out="$2"; shift 2
  local m; m=$(mktemp -d)
  ntfs_mount "$img" "$m" ro,streams_interface=xattr
  python3 - "$m" "$out" "$@" <<'PY'
import hashlib, json, os, stat, sys
root, out, skip = sys.argv[1], sys.argv[2], set(sys.argv[3:])
entries = []
def sha(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        while True:
            b = f.read(1 << 20)
            if not b: break
            h.update(b)
    return h.hexdigest()
stack = ['']
while stack:
    rel = stack.pop()
    full = os.path.join(root, rel) if rel else root
    for name in sorted(os.listdir(full)):
        r = f"{rel}/{name}" if rel else name
        p = os.path.join(root, r)
        if r in skip: continue
        try:
            st = os.lstat(p)
        except OSError as e:
            entries.append({"path": "/" + r, "type": "error", "error": str(e)}); continue
        e = {"path": "/" + r, "inode": st.st_ino, "links": st.st_nlink,
             "mtime_ns": st.st_mtime_ns, "atime_ns": st.st_atime_ns, "ctime_ns": st.st_ctime_ns}
        if stat.S_ISDIR(st.st_mode):
            e["type"] = "dir"; stack.append(r)
        elif stat.S_ISLNK(st.st_mode):
            e["type"] = "symlink"; e["target"] = os.readlink(p)
        elif stat.S_ISREG(st.st_mode):
            e["type"] = "file"; e["size"] = st.st_size
            try: e["sha256"] = sha(p)
            except OSError as ex: e["error"] = str(ex)
        else:
            e["type"] = "other"
        try:
            e["streams"] = [{"name": x[5:]} for x in os.listxattr(p, follow_symlinks=False) if x.startswith("user.")]
        except OSError:
            e["streams"] = []
        entries.append(e)
with open(out, 'w') as f:
    json.dump(entries, f, indent=1, ensure_ascii=False)
PY
  ntfs_umount
  ntfs_mount "$img" "$m" ro,streams_interface=windows
  python3 - "$m" "$out" <<'PY'
import hashlib, json, os, sys
root, out = sys.argv[1], sys.argv[2]
entries = json.load(open(out))
for e in entries:
    for s in e.get("streams", []):
        with open(root + e["path"] + ":" + s["name"], 'rb') as f:
            b = f.read()
        s["size"] = len(b); s["sha256"] = hashlib.sha256(b).hexdigest()
with open(out, 'w') as f:
    json.dump(entries, f, indent=1, ensure_ascii=False)
PY
  ntfs_umount; rmdir "$m"
}

# Sleuthkit's view: `fls -r -p` (record numbers and paths) of IMG into OUT.
ntfs_fls() { fls -r -p "$1" > "$2" 2>/dev/null || : > "$2"; }   # sleuthkit cannot read 2 MiB clusters: empty

# Python helpers that patch one MFT record of a freshly made (unfragmented $MFT) image in place.
#   ntfs_patch IMG RECORD efs            -> SI flags |= ENCRYPTED, unnamed $DATA flags |= ENCRYPTED
#   ntfs_patch IMG 3 dirty               -> $VOLUME_INFORMATION flags |= DIRTY
#   ntfs_patch IMG RECORD rename OLDHEX NEWHEX -> replace one UTF-16 unit in every copy of the name (record + index)
ntfs_patch() {
  python3 - "$@" <<'PY'
import struct, sys
img, rec, what = sys.argv[1], int(sys.argv[2]), sys.argv[3]
f = open(img, 'r+b')
boot = f.read(512)
bps = struct.unpack_from('<H', boot, 11)[0]
spc = boot[13]; spc = spc if spc <= 0x80 else 1 << (256 - spc)
cluster = bps * spc
mft = struct.unpack_from('<Q', boot, 48)[0] * cluster
v = struct.unpack_from('<b', boot, 64)[0]
rs = v * cluster if v > 0 else 1 << -v
def load(n):
    f.seek(mft + n * rs); b = bytearray(f.read(rs))
    uo, uc = struct.unpack_from('<HH', b, 4)
    for i in range(1, uc):
        b[i*512-2:i*512] = b[uo+2*i:uo+2*i+2]
    return b
def store(n, b):
    uo, uc = struct.unpack_from('<HH', b, 4)
    for i in range(1, uc):
        b[uo+2*i:uo+2*i+2] = b[i*512-2:i*512]; b[i*512-2:i*512] = b[uo:uo+2]
    f.seek(mft + n * rs); f.write(b)
def attrs(b):
    off = struct.unpack_from('<H', b, 20)[0]
    while off + 8 <= len(b):
        t, ln = struct.unpack_from('<II', b, off)
        if t == 0xFFFFFFFF or ln == 0: return
        yield t, off, ln
        off += ln
b = load(rec)
if what == 'efs':
    for t, off, ln in attrs(b):
        if t == 0x10:
            vo = struct.unpack_from('<H', b, off + 20)[0]
            struct.pack_into('<I', b, off + vo + 32, struct.unpack_from('<I', b, off + vo + 32)[0] | 0x4000)
        if t == 0x80 and b[off + 9] == 0:
            struct.pack_into('<H', b, off + 12, struct.unpack_from('<H', b, off + 12)[0] | 0x4000)
    store(rec, b)
elif what == 'dirty':
    for t, off, ln in attrs(b):
        if t == 0x70:
            vo = struct.unpack_from('<H', b, off + 20)[0]
            struct.pack_into('<H', b, off + vo + 10, struct.unpack_from('<H', b, off + vo + 10)[0] | 1)
    store(rec, b)
elif what == 'rename':
    old, new = bytes.fromhex(sys.argv[4]), bytes.fromhex(sys.argv[5])
    # every copy: $FILE_NAME in the record, and the index entries anywhere on the (small) volume
    f.seek(0); data = bytearray(f.read())
    n = 0; i = data.find(old)
    while i >= 0:
        if i % 512 in (510, 511): sys.exit("name straddles a fixup position")
        data[i:i+len(old)] = new; n += 1; i = data.find(old, i + 1)
    if n < 2: sys.exit(f"expected the name in the record and the index, found {n}")
    f.seek(0); f.write(data)
f.close()
PY
}
