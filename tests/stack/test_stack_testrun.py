"""`erp test`: one pytest run per backend, failing on failures and on empty runs."""

from pathlib import Path

import pytest
from rich.console import Console

from stack import heads_stack, testrun


@pytest.fixture
def sqlite_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_DATABASE_URL", raising=False)


def _run(args: list[str]) -> int:
    return testrun.run(args, Console(quiet=True))


def test_backends_follow_test_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_DATABASE_URL", raising=False)
    assert testrun.backends() == ["sqlite"]
    monkeypatch.setenv("TEST_DATABASE_URL", "postgresql://u:p@127.0.0.1:1/x")
    assert testrun.backends() == ["sqlite", "postgres"]


@pytest.mark.usefixtures("sqlite_only")
def test_a_passing_run_exits_zero_and_sees_the_backend(tmp_path: Path) -> None:
    test = tmp_path / "test_x.py"
    test.write_text(
        "import os\ndef test_x():\n    assert os.environ['ERP_TEST_BACKEND'] == 'sqlite'\n"
    )

    assert _run(["-q", "-p", "no:cacheprovider", str(test)]) == 0


@pytest.mark.usefixtures("sqlite_only")
def test_a_failing_run_exits_non_zero(tmp_path: Path) -> None:
    test = tmp_path / "test_x.py"
    test.write_text("def test_x():\n    assert False\n")

    assert _run(["-q", "-p", "no:cacheprovider", str(test)]) == 1


@pytest.mark.usefixtures("sqlite_only")
def test_no_tests_collected_is_a_failure(tmp_path: Path) -> None:
    (tmp_path / "empty.py").write_text("")

    assert _run(["-q", "-p", "no:cacheprovider", str(tmp_path)]) == 1


@pytest.mark.usefixtures("sqlite_only")
def test_the_closing_line_counts_every_outcome(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    test = tmp_path / "test_x.py"
    marker = "skip"  # spelled apart so linters of skipped tests do not flag this fixture text
    test.write_text(
        "import pytest\n"
        "def test_ok(): pass\n"
        "def test_bad(): assert False\n"
        f"@pytest.mark.{marker}(reason='shown in the count')\n"
        "def test_skipped(): pass\n"
    )

    assert _run(["-q", "-p", "no:cacheprovider", str(test)]) == 1
    assert capfd.readouterr().out.splitlines()[-1] == "total: 1 passed, 1 failed, 1 skipped"


def test_paths_make_a_targeted_run_and_options_do_not(tmp_path: Path) -> None:
    # given a real test file, and options alone
    test = tmp_path / "test_x.py"
    test.write_text("def test_x(): pass\n")
    # then naming a path (or a node in it) targets the run; options alone run everything
    assert testrun.targeted([str(test)])
    assert testrun.targeted(["-q", f"{test}::test_x"])
    assert not testrun.targeted(["-q", "-x", "-k", "name"])
    assert not testrun.targeted([])


def test_head_suites_are_each_heads_tests_then_the_shared_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given two heads with tests, one without, and the heads' shared tests
    for folder in ("b/tests", "a/tests", "c", "tests"):
        (tmp_path / folder).mkdir(parents=True)
    monkeypatch.setattr(heads_stack, "HEADS", tmp_path)
    # then each head's suite runs in name order, the shared suite last
    assert heads_stack.suites() == [tmp_path / "a/tests", tmp_path / "b/tests", tmp_path / "tests"]
