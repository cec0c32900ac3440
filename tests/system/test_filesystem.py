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
