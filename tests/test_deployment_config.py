"""The Dagster instance configurations shipped in ``deploy/`` hold to Dagster's own schemas (quick): the one
``dagster dev`` copies (the run queue: two runs at once, one per provider) is loaded by Dagster as an instance,
and the Kubernetes one (a pod per run, PostgreSQL storage) is checked against the instance schema and each
configured class's own schema. No cluster is started here (``docs/architecture/deployment.md``)."""

import shutil
from pathlib import Path

import pytest
import yaml
from dagster import DagsterInstance
from dagster._config import process_config  # (Dagster's own validation: what the daemon does when it loads it)
from dagster._core.errors import DagsterInvalidConfigError
from dagster._core.instance.config import dagster_instance_config
from dagster_k8s import K8sRunLauncher

from pipelines.run_storage import PARTITION_TAG

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
ONE_RUN_PER_PROVIDER = {"key": PARTITION_TAG, "value": {"applyLimitPerUniqueValue": True}, "limit": 1}


def test_the_local_instance_queues_runs_two_at_once_and_one_per_provider(tmp_path):
    shutil.copy(DEPLOY / "local" / "dagster.yaml", tmp_path)  # (an instance writes its storage beside its config)
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        queue = instance.get_concurrency_config().run_queue_config
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert instance.scheduler.max_catchup_runs == 1  # (missed days: one run, not one per day)
    assert queue.max_concurrent_runs == 2 and queue.tag_concurrency_limits == [ONE_RUN_PER_PROVIDER]


def test_the_kubernetes_instance_holds_to_dagsters_schemas():
    config, _ = dagster_instance_config(str(DEPLOY / "kubernetes"))
    launcher = config["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_k8s", "K8sRunLauncher")
    checked = process_config(K8sRunLauncher.config_type(), launcher["config"])
    assert checked.success, checked.errors
    assert config["concurrency"]["runs"]["tag_concurrency_limits"] == [ONE_RUN_PER_PROVIDER]
    assert set(config["storage"]) == {"postgres"}
    assert config["scheduler"]["config"] == {"max_catchup_runs": 1}


def test_a_misspelt_setting_is_refused_by_the_same_checks(tmp_path):
    config = yaml.safe_load((DEPLOY / "kubernetes" / "dagster.yaml").read_text(encoding="utf-8"))
    launcher = dict(config["run_launcher"]["config"])
    launcher["job_namspace"] = launcher.pop("job_namespace")
    assert not process_config(K8sRunLauncher.config_type(), launcher).success
    config["concurency"] = config.pop("concurrency")
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    with pytest.raises(DagsterInvalidConfigError, match="concurency"):
        dagster_instance_config(str(tmp_path))
