"""Carrying out a plan against a tenant, through the `TaskClient` port (`apply.port`): what is
checked first (`apply.preconditions`), the phases and their order (`apply.phases`), and what is done
when a create goes wrong (`apply.recovery`)."""

from reconciler.apply.phases import ApplyResult, Outcome, Reporter, Status, apply_plan

__all__ = ["ApplyResult", "Outcome", "Reporter", "Status", "apply_plan"]
