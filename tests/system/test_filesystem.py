import os

from hypothesis import given
from hypothesis import strategies as st

from watchkeeper.system.filesystem import (
    FilesystemCollector,
    mounted_filesystems,
    parse_mounts,
)


def _by_mountpoint(name: str) -> dict[str, float]:
    fams = {f.name: f for f in FilesystemCollector().collect()}
    return {s.labels["mountpoint"]: s.value for s in fams[name].samples}


def test_root_size_free_avail_equal_statvfs_exactly():
    st = os.statvfs("/")
    assert _by_mountpoint("node_filesystem_size_bytes")["/"] == st.f_blocks * st.f_bsize
    assert _by_mountpoint("node_filesystem_files")["/"] == st.f_files


def test_pseudo_file_systems_and_system_mounts_are_left_out():
    for m in mounted_filesystems():
        assert m.fstype not in {"proc", "sysfs", "cgroup", "cgroup2", "devpts", "devtmpfs"}
        assert not m.mountpoint.startswith(("/proc", "/sys", "/dev"))
    assert "/" in {m.mountpoint for m in mounted_filesystems()}


def test_labels_are_node_exporters():
    fam = next(f for f in FilesystemCollector().collect()
               if f.name == "node_filesystem_avail_bytes")
    assert set(fam.samples[0].labels) == {"device", "fstype", "mountpoint"}


def test_escaped_mount_points_and_read_only_flag():
    (m,) = parse_mounts("/dev/sdb1 /media/my\\040disk vfat ro,relatime 0 0\n")
    assert m.mountpoint == "/media/my disk"
    assert m.readonly


def test_duplicate_mounts_are_reported_once(tmp_path):
    (tmp_path / "1").mkdir()
    line = "/dev/vda / ext4 rw 0 0\n"
    (tmp_path / "1" / "mounts").write_text(line + "proc /proc proc rw 0 0\n" + line)
    assert [m.mountpoint for m in mounted_filesystems(str(tmp_path))] == ["/"]


@given(st.text(max_size=300))
def test_parse_mounts_never_raises_on_odd_lines(data):
    for m in parse_mounts(data):
        assert m.mountpoint and m.fstype


def _procfs_with_mounts(tmp_path, lines: str) -> str:
    procfs = tmp_path / "proc"
    (procfs / "1").mkdir(parents=True)
    (procfs / "1" / "mounts").write_text(lines)
    return str(procfs)


def test_remote_file_systems_are_measured_through_the_timeout_guard(tmp_path):
    target = tmp_path / "share"
    target.mkdir()
    procfs = _procfs_with_mounts(tmp_path, f"nas:/export {target} nfs4 rw 0 0\n")
    fams = {f.name: f for f in FilesystemCollector(procfs).collect()}
    st = os.statvfs(target)
    (size,) = fams["node_filesystem_size_bytes"].samples
    assert size.labels == {"device": "nas:/export", "fstype": "nfs4", "mountpoint": str(target)}
    assert size.value == st.f_blocks * st.f_bsize
    assert fams["node_filesystem_device_error"].samples[0].value == 0


def test_unreadable_mount_is_a_device_error_not_a_failure(tmp_path):
    gone = tmp_path / "gone"
    procfs = _procfs_with_mounts(
        tmp_path, f"/dev/sdz1 {gone} ext4 rw 0 0\nnas:/x {gone}2 nfs rw 0 0\n")
    fams = {f.name: f for f in FilesystemCollector(procfs).collect()}
    errors = {s.labels["mountpoint"]: s.value for s in fams["node_filesystem_device_error"].samples}
    assert errors == {str(gone): 1.0, f"{gone}2": 1.0}
    assert not fams["node_filesystem_size_bytes"].samples
