"""Writing the files of init and new (commands/files.py): all of them or none, never over a file that exists, with
the schema line editors read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from storybook.commands.files import schema_files, schema_line, write_new_files
from storybook.errors import FilesExistError
from storybook.sources.json_schema import json_schema


def test_the_schema_line_climbs_one_folder_per_level() -> None:
    assert schema_line("storybook") == "# yaml-language-server: $schema=docs/schema/storybook.schema.json\n"
    assert schema_line("story", 2) == "# yaml-language-server: $schema=../../docs/schema/story.schema.json\n"


def test_the_schema_files_are_the_generated_schemas() -> None:
    files = schema_files()
    assert sorted(files) == ["docs/schema/story.schema.json", "docs/schema/storybook.schema.json"]
    assert json.loads(files["docs/schema/story.schema.json"]) == json_schema("story")


def test_new_files_are_written_in_order_with_their_folders(tmp_path: Path) -> None:
    written = write_new_files(tmp_path, {"a/b/one.txt": "1\n", "two.txt": "2\n"}, doing="storybook new")
    assert written == [tmp_path / "a" / "b" / "one.txt", tmp_path / "two.txt"]
    assert (tmp_path / "a" / "b" / "one.txt").read_bytes() == b"1\n"


def test_when_one_file_exists_none_is_written_and_the_first_existing_is_named(tmp_path: Path) -> None:
    (tmp_path / "two.txt").write_text("mine\n")
    (tmp_path / "three.txt").symlink_to(tmp_path / "nowhere")   # a dangling link counts as there
    with pytest.raises(FilesExistError) as caught:
        write_new_files(tmp_path, {"one.txt": "1", "two.txt": "2", "three.txt": "3"}, doing="storybook init")
    assert caught.value.message == ("storybook init would replace files that exist: two.txt, three.txt; nothing "
                                    "was written")
    assert caught.value.location is not None and caught.value.location.path == tmp_path / "two.txt"
    assert not (tmp_path / "one.txt").exists() and (tmp_path / "two.txt").read_text() == "mine\n"


def test_more_than_ten_existing_files_are_counted(tmp_path: Path) -> None:
    files = {f"f{i:02d}.txt": "x" for i in range(13)}
    for name in files:
        (tmp_path / name).write_text("old")
    with pytest.raises(FilesExistError, match=r"f09.txt and 3 more; nothing was written"):
        write_new_files(tmp_path, files, doing="storybook new")
