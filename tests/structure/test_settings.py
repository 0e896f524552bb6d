"""DURABLE_WORKFLOWS: every key optional, typos and unsupported keys refused loudly."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured

from durable_workflows.conf import dw_settings


def test_defaults_apply_when_the_setting_is_absent(settings):
    del settings.DURABLE_WORKFLOWS
    assert dw_settings.DEFAULT_TASK_QUEUE == "default"
    assert dw_settings.TICK_INTERVAL == 1.0
    retention = dw_settings.HISTORY_RETENTION
    assert retention == timedelta(days=30)
    assert dw_settings.MAX_PAYLOAD_BYTES == 2 * 1024 * 1024


def test_numbers_are_seconds_and_retention_none_keeps_runs(settings):
    settings.DURABLE_WORKFLOWS = {"HISTORY_RETENTION": None, "DEFAULT_START_TO_CLOSE_TIMEOUT": 90}
    assert dw_settings.HISTORY_RETENTION is None
    start_to_close = dw_settings.DEFAULT_START_TO_CLOSE_TIMEOUT
    assert start_to_close == timedelta(seconds=90)


def test_a_misspelt_key_is_refused_with_the_known_keys(settings):
    settings.DURABLE_WORKFLOWS = {"TICK_INTERVALL": 2}
    with pytest.raises(ImproperlyConfigured, match="Unknown DURABLE_WORKFLOWS key.*TICK_INTERVALL"):
        _ = dw_settings.TICK_INTERVAL


def test_a_bad_value_is_a_system_check_error(settings):
    settings.DURABLE_WORKFLOWS = {"TICK_INTERVAL": "often"}
    errors = [e for e in run_checks() if e.id == "durable_workflows.E001"]
    assert len(errors) == 1
    assert "TICK_INTERVAL" in errors[0].msg and "'often'" in errors[0].msg


def test_a_default_start_to_close_timeout_that_is_not_positive_is_refused(settings):
    settings.DURABLE_WORKFLOWS = {"DEFAULT_START_TO_CLOSE_TIMEOUT": 0}
    with pytest.raises(ImproperlyConfigured, match="must be positive"):
        _ = dw_settings.DEFAULT_START_TO_CLOSE_TIMEOUT
