"""Forms of the admin's signal, cancel and terminate confirmation pages."""

from __future__ import annotations

from typing import Any

from django import forms

from .. import _json, _services
from ..exceptions import DurableWorkflowsError


def signal_names(workflow_types: set[str]) -> list[str] | None:
    """The signal names to offer, when every type is registered here and they agree."""
    if len(workflow_types) != 1:
        return None
    return _services.handler_names(next(iter(workflow_types)), "signal")


class SignalForm(forms.Form):
    """A signal name and its arguments as a JSON array, checked against each target's type.

    ``clean()`` encodes the arguments for every workflow type among the targets
    (``_services.prepare_signal``) so that a wrong name, a wrong argument count or
    an unstorable value is reported here, before any workflow is signalled.
    """

    signal_name = forms.CharField(max_length=255, label="Signal name")
    args = forms.CharField(
        label="Arguments (JSON array)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60, "class": "vLargeTextField"}),
        help_text='One JSON value per argument, e.g. ["ada"]. Leave empty for none.',
    )

    def __init__(self, *args: Any, workflow_types: set[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workflow_types = workflow_types
        names = signal_names(workflow_types)
        if names is not None:
            self.fields["signal_name"] = forms.ChoiceField(
                label="Signal name", choices=[(name, name) for name in names]
            )
            if not names:
                self.fields["signal_name"].help_text = "This workflow type declares no signals."
        else:
            self.fields[
                "signal_name"
            ].help_text = (
                "Free text: the signal names of these workflows are not known in this process."
            )

    def clean_args(self) -> list[Any]:
        text = self.cleaned_data.get("args", "").strip()
        if not text:
            return []
        try:
            value = _json.loads(text)
        except _json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}.") from exc
        if not isinstance(value, list):
            raise forms.ValidationError(
                f"Give a JSON array of arguments, e.g. [{text}] for a single argument."
            )
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        name, args = cleaned.get("signal_name"), cleaned.get("args")
        if name is None or args is None:
            return cleaned
        for workflow_type in sorted(self.workflow_types):
            try:
                _services.prepare_signal(workflow_type, name, args)
            except DurableWorkflowsError as exc:
                raise forms.ValidationError(str(exc), code=exc.code) from exc
        return cleaned


class ReasonForm(forms.Form):
    """The reason recorded with a cancellation or termination."""

    reason = forms.CharField(
        max_length=1000,
        required=False,
        widget=forms.TextInput(attrs={"size": 60}),
        help_text="Recorded in the history. Leave empty to record who did it.",
    )
