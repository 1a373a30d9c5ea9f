"""The README against the running server: its metric list, and its run command leaving nothing
behind that git does not ignore."""

from __future__ import annotations

import re
import shutil
import subprocess

from prometheus_client.metrics import Counter, MetricWrapperBase

from tests import readme
from tests.conftest import REPO
from tests.integration.processes import ServeProcess

METRIC = re.compile(r"`(alertrouter_\w+)(?:\{([^}`]*)\})?`")


def readme_metrics() -> dict[str, tuple[str, ...]]:
    """The list after "The metrics": name -> label names."""
    text = readme.text()
    start = text.index("The metrics")
    section = text[start : text.index("\n\n**", start)]
    return {
        name: tuple(label.strip() for label in labels.split(",")) if labels else ()
        for name, labels in METRIC.findall(section)
    }


async def test_the_readme_lists_every_metric_with_its_labels(tmp_path, start_server):
    service, client = await start_server(f"sqlite:///{tmp_path / 'db.sqlite'}")
    exposition = await (await client.get("/metrics")).text()
    exposed = {
        name
        for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", exposition, re.MULTILINE)
        if not name.endswith("_created")
    }
    defined = {
        metric._name + ("_total" if isinstance(metric, Counter) else ""): metric._labelnames
        for metric in vars(service.metrics).values()
        if isinstance(metric, MetricWrapperBase)
    }
    assert set(defined) == exposed
    listed = readme_metrics()
    assert sorted(listed) == sorted(exposed)
    assert listed == defined


def test_the_run_command_leaves_only_files_git_ignores(tmp_path):
    """`alertrouter serve --config config.example.yaml` (the README's run command) in a
    checkout, until it is ready and then stopped: git sees no new file it does not ignore."""
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    for name in (".gitignore", "config.example.yaml"):
        shutil.copy(REPO / name, checkout / name)

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=checkout, capture_output=True, text=True, check=True
        )
        return done.stdout

    git("init", "-q")
    serve, url = ServeProcess.on_free_port(
        checkout / "config.example.yaml", tmp_path / "serve.log", cwd=checkout
    )
    with serve:
        serve.wait_until_answers(f"{url}/-/ready")
        assert serve.stop(timeout=20) == 0, serve.log()
    assert (checkout / "alertrouter.db").exists()  # it ran where the README runs it
    untracked = git("ls-files", "--others", "--exclude-standard").split()
    assert untracked == [".gitignore", "config.example.yaml"]
