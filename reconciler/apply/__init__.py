"""Carrying out a plan against a tenant, through the `TaskClient` port (`apply.port`).

preconditions  what is checked before anything is written: a saved plan is fresh, every task
               written or deleted is this tool's
phases         apply_plan: the phases, what waits for what, parallelism, the outcome of each
steps          one action: the writes a create, an update or a delete sends
recovery       a create whose answer was lost, a task that comes back without the marker
migrations     the legacy reload-tasks replaced in this run, deleted last
outcomes       Outcome, ApplyResult and the Reporter protocol progress goes out through
"""

from reconciler.apply.outcomes import ApplyResult, Outcome, Reporter, SilentReporter, Status
from reconciler.apply.phases import apply_plan

__all__ = ["ApplyResult", "Outcome", "Reporter", "SilentReporter", "Status", "apply_plan"]
