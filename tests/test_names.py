import os
import stat
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import UnsafeFileName
from crypto.names import MAX_NAME_BYTES, check_plain, create_in, safe_name
from crypto.workspace import Workspace


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
        # Characters that go can leave others that compose: NFC comes after, not before.
        ("cafe\u200b\u0301.txt", "caf\u00e9.txt"),
        ("o\u2028\u0301", "\u00f3"),
        ("e\u0301.txt", "\u00e9.txt"),
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
        name, _number, handle = create_in(tmp_path, "poc.py")
        with handle:
            handle.write(b"new")
        paths.append(name)
    assert paths == ["poc (2).py", "poc (3).py", "poc (4).py"]
    assert (tmp_path / "poc.py").read_text() == "existing"
    assert all(stat.S_IMODE((tmp_path / p).stat().st_mode) == 0o600 for p in paths)


def test_create_in_refuses_a_symlink_in_the_way(tmp_path):
    outside = tmp_path / "outside"
    outside.write_text("keep")
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "x.txt").symlink_to(outside)
    name, number, handle = create_in(folder, "x.txt")
    handle.close()
    assert (name, number) == ("x (2).txt", 2)
    assert outside.read_text() == "keep"


# Characters that compose, go, or become something else: where safe_name's steps can disagree.
_tricky = st.sampled_from(
    list("aBeo.- /\\:_con~\t")
    + ["\u202e", "\u200b", "\u2028", "\u0301", "\u0338", "\u0327", "\u00a0"]
    + ["\ufb01", "\u212a", "\u00c5", "\u1100", "\u1161", "\u11a8", "\u0958", "\u3000", "\u00b9", "<"]
)
_names = (
    st.text(alphabet=st.one_of(st.characters(), _tricky), max_size=40)
    | st.builds(
        lambda long, tail: long + tail, st.text(alphabet=_tricky, min_size=180, max_size=230), st.text(max_size=8)
    )
    | st.builds(lambda stem, ext: "x" * stem + ext, st.integers(150, 260), st.text(alphabet=_tricky, max_size=20))
)


@settings(max_examples=500)
@given(_names)
def test_a_safe_name_is_its_own_safe_name_and_plain(name):
    """What safe_name makes, check_plain accepts (create_in checks every name with it)."""
    safe = safe_name(name)
    assert safe_name(safe, fallback="") == safe
    assert check_plain(safe) == safe
    assert unicodedata.is_normalized("NFC", safe)
    assert len(safe.encode("utf-8")) <= MAX_NAME_BYTES


def test_many_files_of_one_name_cost_one_creation_each(tmp_path, monkeypatch):
    """The workspace keeps the next number per folder and name: n files named alike are n
    creations, not n²/2 attempts (a bundle of 10,000 attachments all called poc.html)."""
    created = []
    real_open = os.open

    def counting(path, flags, *args, **kwargs):
        if flags & os.O_CREAT:
            created.append(path)
        return real_open(path, flags, *args, **kwargs)

    with Workspace(tmp_path / "out") as space:
        folder = space.folder(space.root, "attachments")
        monkeypatch.setattr(os, "open", counting)
        names = []
        for _ in range(300):
            path, handle = space.new_file(folder, "poc.html")
            handle.close()
            names.append(path.name)
        monkeypatch.undo()
        space.commit()
    assert len(created) == 300
    assert names[:3] == ["poc.html", "poc (2).html", "poc (3).html"]
    assert len(set(names)) == 300
