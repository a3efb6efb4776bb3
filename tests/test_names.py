import stat

import pytest

from crypto import UnsafeFileName
from crypto.names import MAX_NAME_BYTES, check_plain, create_in, safe_name


@pytest.mark.parametrize(
    ("given", "safe"),
    [
        ("poc.py", "poc.py"),
        ("report (final).pdf", "report (final).pdf"),
        ("../../etc/passwd", "passwd"),
        ("/etc/shadow", "shadow"),
        ("C:\\Users\\x\\poc.py", "poc.py"),
        ("..", "attachment"),
        ("", "attachment"),
        (None, "attachment"),
        (".bashrc", "bashrc"),
        ("-rf", "_rf"),
        ("CON", "_CON"),
        ("con.txt", "_con.txt"),
        ("LPT1.log", "_LPT1.log"),
        ("a:b?*.txt", "a_b__.txt"),
        ("evil\u202egpj.exe", "evilgpj.exe"),
        ("tab\tand\nnewline.txt", "tabandnewline.txt"),
        ("line\u2028and\u2029paragraph.txt", "lineandparagraph.txt"),
        ("trailing. . ", "trailing"),
        ("Überprüfung ✓.pdf", "Überprüfung ✓.pdf"),
    ],
)
def test_safe_name(given, safe):
    assert safe_name(given) == safe


def test_long_names_keep_their_extension():
    name = safe_name("é" * 300 + ".tar.gz")
    assert name.endswith(".gz")
    assert len(name.encode()) <= MAX_NAME_BYTES


@pytest.mark.parametrize("name", ["../x", "a/b", ".hidden", "..", "CON", "x\x00y", "", "-v"])
def test_check_plain_refuses_unsafe_names(name):
    with pytest.raises(UnsafeFileName):
        check_plain(name)


def test_create_in_never_overwrites_and_never_sets_exec_bits(tmp_path):
    (tmp_path / "poc.py").write_text("existing")
    paths = []
    for _ in range(3):
        path, handle = create_in(tmp_path, "poc.py")
        with handle:
            handle.write(b"new")
        paths.append(path.name)
    assert paths == ["poc (2).py", "poc (3).py", "poc (4).py"]
    assert (tmp_path / "poc.py").read_text() == "existing"
    assert all(stat.S_IMODE((tmp_path / p).stat().st_mode) == 0o600 for p in paths)


def test_create_in_refuses_a_symlink_in_the_way(tmp_path):
    outside = tmp_path / "outside"
    outside.write_text("keep")
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "x.txt").symlink_to(outside)
    path, handle = create_in(folder, "x.txt")
    handle.close()
    assert path.name == "x (2).txt"
    assert outside.read_text() == "keep"
