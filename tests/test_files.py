"""files.replacing: a file replaced whole or not at all, by any number of writers at once."""

import threading

from tui_ae.files import replacing


def test_two_threads_replacing_one_file_at_once_each_write_a_temporary_file_of_their_own(tmp_path):
    path, both_half_way, failed = tmp_path / "MNIST" / "raw" / "f", threading.Barrier(2), []

    def write(content: bytes) -> None:
        try:
            with replacing(path) as f:
                f.write(content[:3])
                both_half_way.wait(timeout=10)  # each has begun its file before either renames it
                f.write(content[3:])
        except OSError as e:
            failed.append(e)

    writers = [threading.Thread(target=write, args=(content,)) for content in (b"aaaaaa", b"bbbbbb")]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    assert failed == [] and path.read_bytes() in (b"aaaaaa", b"bbbbbb")
    assert [p.name for p in path.parent.iterdir()] == ["f"]  # no temporary file left
