"""`mopeft bench team` on the test server: annotators at once leave exactly their accepts; a client killed inside
a transaction leaves nothing; a worker killed in a job leaves it to a second worker."""
import json

import pytest

from app.cli.main import main


def _figures(pg_server, tmp_path, *options):
    out = tmp_path / "team.json"
    code = main(["bench", "team", "--url", pg_server.new_database(), "--annotators", "3", "--accepts", "15",
                 "--json", str(out), *options])
    return code, json.loads(out.read_text())


@pytest.mark.slow
def test_concurrent_accepts_and_a_killed_client(pg_server, tmp_path, capsys):
    code, figures = _figures(pg_server, tmp_path, "--job-steps", "0")
    accepts, client = figures["accepts"], figures["killed_client"]
    assert code == 0
    assert accepts["accepts"] == 45
    assert accepts["lost"] == accepts["duplicated"] == accepts["unexpected"] == accepts["on_the_wrong_image"] == 0
    assert accepts["claims_left"] == 0 and accepts["p95_ms"] >= accepts["p50_ms"] > 0
    assert client == {**client, "instances_left": 0, "claim_held_until_timeout": True}
    assert figures["killed_worker"] is None
    assert "| accepts per second |" in capsys.readouterr().out


@pytest.mark.slow
def test_a_killed_worker_leaves_the_job_to_another(pg_server, tmp_path):
    code, figures = _figures(pg_server, tmp_path, "--job-steps", "60")
    worker = figures["killed_worker"]
    assert code == 0
    assert worker["state_after_kill"] == "queued" and 1 <= worker["killed_at_step"] < 60
    assert worker["final_state"] == "finished" and worker["attempts"] == 2 and worker["adapter_versions"] == 1
