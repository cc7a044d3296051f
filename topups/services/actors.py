"""Who or what caused a change: a staff member, or a named background task (possibly on a
staff member's behalf). Every OrderEvent records one."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    label: str
    user_id: int | None = None

    @classmethod
    def user(cls, user) -> Actor:
        return cls(label=user.get_username(), user_id=user.pk)

    @classmethod
    def task(cls, name: str, *, on_behalf_of: Actor | None = None) -> Actor:
        if on_behalf_of is None:
            return cls(label=f"task:{name}")
        return cls(label=f"{on_behalf_of.label} via task:{name}"[:64], user_id=on_behalf_of.user_id)

    def to_task_args(self) -> tuple[str, int | None]:
        return self.label, self.user_id


SYNC = Actor.task("sync")
