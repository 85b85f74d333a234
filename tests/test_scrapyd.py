"""scrapyd end to end: deploy the project with ``scrapyd-deploy`` to a real scrapyd and run ``articles`` there.

The way an operator runs scheduled crawls: a scrapyd on 127.0.0.1 (free port, its own eggs/logs/dbs dirs),
the project built into an egg by ``scrapyd-deploy`` from a copy of the repo, the spider scheduled with
``schedule.json`` against the replica. The job runs in scrapyd's subprocess with *only the egg* on its path
(no PYTHONPATH to the repo), so missing package data or a missing ``scrapy`` entry point fails here.
"""

from __future__ import annotations

import configparser
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from habrmirror.replica import ReplicaProcess
from habrmirror.replica.catalog import Catalog
from habrmirror.replica.listings import PAGE_SIZE
from habrmirror.store.index import iter_rows
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

PROJECT = "habrmirror"
PAGES = 2  # listing pages per listing the job walks
SYNTHETIC = 20
# What a deploy needs from the repo: the scrapy.cfg that names the settings, the build metadata, the package.
PROJECT_FILES = ("scrapy.cfg", "pyproject.toml", "setup.py", "setup.cfg", "README.md", "MANIFEST.in")


def free_port() -> int:
    """A port nobody listens on right now (scrapyd wants a number in its config, not 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def clean_env() -> dict[str, str]:
    """This environment without a PYTHONPATH, so scrapyd's jobs can import habrmirror only from the egg."""
    env = {
        key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "SCRAPY_SETTINGS_MODULE")
    }
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


@dataclass
class Scrapyd:
    """A running scrapyd: its base URL, working directory and console log."""

    url: str
    workdir: Path
    console: Path

    def get(self, endpoint: str, **params: str) -> dict[str, Any]:
        query = f"?{urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}/{endpoint}{query}", timeout=30) as answer:
            return dict(json.loads(answer.read()))

    def post(self, endpoint: str, params: list[tuple[str, str]]) -> dict[str, Any]:
        data = urlencode(params).encode()
        with urllib.request.urlopen(f"{self.url}/{endpoint}", data=data, timeout=60) as answer:
            return dict(json.loads(answer.read()))

    def job_log(self, spider: str, job: str) -> str:
        path = self.workdir / "logs" / PROJECT / spider / f"{job}.log"
        return (
            path.read_text(encoding="utf-8", errors="replace") if path.exists() else f"(no job log at {path})"
        )

    def console_text(self) -> str:
        return self.console.read_text(encoding="utf-8", errors="replace") if self.console.exists() else ""


@pytest.fixture(scope="module")
def scrapyd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scrapyd]:
    """scrapyd 1.6 on 127.0.0.1:<free port>, configured by a scrapyd.conf in its working directory."""
    work = tmp_path_factory.mktemp("scrapyd")
    port = free_port()
    (work / "scrapyd.conf").write_text(
        "[scrapyd]\n"
        "bind_address = 127.0.0.1\n"
        f"http_port = {port}\n"
        f"eggs_dir = {work / 'eggs'}\n"
        f"logs_dir = {work / 'logs'}\n"
        f"dbs_dir = {work / 'dbs'}\n"
        f"items_dir = {work / 'items'}\n"
        "poll_interval = 0.2\n"
        "max_proc = 2\n",
        encoding="utf-8",
    )
    console = work / "scrapyd-console.log"
    with console.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "scrapyd"],
            cwd=work,
            env=clean_env(),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    server = Scrapyd(f"http://127.0.0.1:{port}", work, console)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"scrapyd exited with {process.returncode}:\n{server.console_text()}")
            try:
                if server.get("daemonstatus.json").get("status") == "ok":
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"scrapyd did not answer on port {port}:\n{server.console_text()}")
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def deployed(scrapyd: Scrapyd, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``scrapyd-deploy`` run in a copy of the repo whose scrapy.cfg targets the test scrapyd."""
    project = tmp_path_factory.mktemp("project")
    for name in PROJECT_FILES:
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, project / name)
    shutil.copytree(ROOT / "habrmirror", project / "habrmirror", ignore=shutil.ignore_patterns("__pycache__"))
    config = configparser.ConfigParser()
    config.read(project / "scrapy.cfg", encoding="utf-8")
    assert config.get("deploy", "project") == PROJECT, "scrapy.cfg [deploy] names another project"
    config.set("deploy", "url", scrapyd.url + "/")
    with (project / "scrapy.cfg").open("w", encoding="utf-8") as handle:
        config.write(handle)
    deploy = shutil.which("scrapyd-deploy")
    command = [deploy] if deploy else [sys.executable, "-m", "scrapyd_client.deploy"]
    result = subprocess.run(
        [*command, "default", "-v", "test-1"],
        cwd=project,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.returncode == 0, f"scrapyd-deploy failed\n{output}\nscrapyd:\n{scrapyd.console_text()}"
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer.get("status") == "ok", output
    return answer


def test_deploy_lists_the_spiders(scrapyd: Scrapyd, deployed: dict[str, Any]) -> None:
    spiders = scrapyd.get("listspiders.json", project=PROJECT)
    assert spiders["status"] == "ok", spiders
    assert {"article", "articles"} <= set(spiders["spiders"]), spiders


def expected_articles(synthetic: int) -> dict[int, str]:
    """Id -> title of every post the first ``PAGES`` pages of the replica's articles and news listings show."""
    catalog = Catalog.load(synthetic)
    shown = [entry for kind in ("articles", "news") for entry in catalog.listed(kind)[: PAGES * PAGE_SIZE]]
    return {entry.id: entry.title for entry in shown}


def wait_finished(scrapyd: Scrapyd, job: str, spider: str, timeout: float) -> None:
    """Poll ``listjobs.json`` until the job is finished; fail with scrapyd's job log on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = scrapyd.get("listjobs.json", project=PROJECT)
        if any(entry["id"] == job for entry in jobs["finished"]):
            return
        time.sleep(0.3)
    pytest.fail(
        f"job {job} not finished after {timeout:.0f} s: {jobs}\n"
        f"job log:\n{scrapyd.job_log(spider, job)}\nscrapyd:\n{scrapyd.console_text()}"
    )


def test_scheduled_articles_job_archives_the_listed_posts(
    scrapyd: Scrapyd, deployed: dict[str, Any], tmp_path: Path
) -> None:
    archive = tmp_path / "archive"
    expected = expected_articles(SYNTHETIC)
    # real tm posts, a synthetic article and a synthetic news post
    assert {568382, 957816, 800001, 800002, 800005} <= set(expected)
    with ReplicaProcess(synthetic=SYNTHETIC) as replica:
        settings = {
            "HABR_ORIGIN": replica.origin,
            "HABR_ARCHIVE_DIR": str(archive),
            "HABR_LOOPBACK_ONLY": "True",
            "AUTOTHROTTLE_START_DELAY": "0.05",
            "HABR_PROGRESS_INTERVAL": "0",
        }
        params = [("project", PROJECT), ("spider", "articles"), ("pages", str(PAGES))]
        params += [("setting", f"{key}={value}") for key, value in settings.items()]
        scheduled = scrapyd.post("schedule.json", params)
        assert scheduled.get("status") == "ok", scheduled
        job = scheduled["jobid"]
        wait_finished(scrapyd, job, "articles", timeout=120)
        sent = replica.sent_log()

    log = scrapyd.job_log("articles", job)
    context = f"job log:\n{log}\nscrapyd:\n{scrapyd.console_text()}"
    assert "Traceback" not in log, context

    rows = {row["id"]: row for row in iter_rows(archive / "index")}
    missing = sorted(set(expected) - set(rows))
    assert not missing, f"not in the index: {missing}\n{context}"
    for article, title in expected.items():
        assert rows[article]["title"] == title, (article, rows[article]["title"])
        assert rows[article]["warc"]["filename"].startswith("warc/"), rows[article]["warc"]

    warcs = sorted((archive / "warc").glob("*.warc.gz"))
    assert warcs, f"no finished WARC in {archive / 'warc'}: {sorted((archive / 'warc').iterdir())}\n{context}"
    assert all(path.stat().st_size > 0 for path in warcs)
    assert not list((archive / "warc").glob("*.open")), "a WARC was left open"
    for row in rows.values():
        assert (archive / row["warc"]["filename"]).exists(), row["warc"]

    runs = sorted((archive / "runs").glob("*.json"))
    assert len(runs) == 1, f"{runs}\n{context}"
    summary = json.loads(runs[0].read_text(encoding="utf-8"))
    assert summary["spider"] == "articles"
    assert summary["origin"] == replica.origin
    assert summary["finish_reason"] == "finished", summary
    assert summary["failed"] == 0, summary["failures"]
    assert summary["archived"] == len(expected), summary

    # scrapyd's item feed (items_dir) got one JSON line per archived post.
    feed = scrapyd.workdir / "items" / PROJECT / "articles" / f"{job}.jl"
    fed = [json.loads(line) for line in feed.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert sorted(item["id"] for item in fed) == sorted(expected)

    # The job really went through the replica (listing pages and every article page).
    targets = {record["target"] for record in sent}
    assert "/ru/articles/" in targets and "/ru/news/" in targets
    assert {"/ru/articles/568382/", "/ru/articles/800001/"} <= targets
