"""Scene model messages (MshMDL 1.1 §5.2.2).

Scene Number 0x0000 is prohibited in Store, Recall and Delete (MshMDL 1.1 §5.1.3); in a
status it means "no scene is active".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import ClassVar

from custom_components.ble_mesh.mesh.access import (
    TID,
    U16,
    EnumField,
    Message,
    U16List,
    UInt,
    codec,
    register,
)

from .common import DELAY, REMAINING_TIME, TRANSITION, TransitionTime

SCENE_NUMBER = codec(UInt(2, 1))


class SceneStatusCode(IntEnum):
    """Status Code of Scene Status / Scene Register Status (MshMDL 1.1 Table 5.x)."""

    SUCCESS = 0x00
    SCENE_REGISTER_FULL = 0x01
    SCENE_NOT_FOUND = 0x02


SCENE_STATUS = codec(EnumField(SceneStatusCode))


@register
@dataclass(frozen=True, slots=True)
class SceneStatus(Message):
    """Scene Status."""

    OPCODE: ClassVar[int] = 0x5E
    status: SceneStatusCode = field(metadata=SCENE_STATUS)
    current_scene: int = field(metadata=U16)
    target_scene: int | None = field(default=None, metadata=codec(UInt(2), optional=True))
    remaining_time: TransitionTime | None = field(default=None, metadata=REMAINING_TIME)


@register
@dataclass(frozen=True, slots=True)
class SceneRegisterStatus(Message):
    """Scene Register Status: the current scene and every stored scene number."""

    OPCODE: ClassVar[int] = 0x8245
    status: SceneStatusCode = field(metadata=SCENE_STATUS)
    current_scene: int = field(metadata=U16)
    scenes: tuple[int, ...] = field(default=(), metadata=codec(U16List(frozenset({0}))))


@register
@dataclass(frozen=True, slots=True)
class SceneGet(Message):
    """Scene Get."""

    OPCODE: ClassVar[int] = 0x8241
    RESPONSE: ClassVar[type[Message] | None] = SceneStatus


@register
@dataclass(frozen=True, slots=True)
class SceneRecall(Message):
    """Scene Recall."""

    OPCODE: ClassVar[int] = 0x8242
    RESPONSE: ClassVar[type[Message] | None] = SceneStatus
    scene_number: int = field(metadata=SCENE_NUMBER)
    tid: int = field(metadata=TID)
    transition: TransitionTime | None = field(default=None, metadata=TRANSITION)
    delay: int = field(default=0, metadata=DELAY)


@register
@dataclass(frozen=True, slots=True)
class SceneRecallUnacknowledged(Message):
    """Scene Recall Unacknowledged."""

    OPCODE: ClassVar[int] = 0x8243
    scene_number: int = field(metadata=SCENE_NUMBER)
    tid: int = field(metadata=TID)
    transition: TransitionTime | None = field(default=None, metadata=TRANSITION)
    delay: int = field(default=0, metadata=DELAY)


@register
@dataclass(frozen=True, slots=True)
class SceneRegisterGet(Message):
    """Scene Register Get."""

    OPCODE: ClassVar[int] = 0x8244
    RESPONSE: ClassVar[type[Message] | None] = SceneRegisterStatus


@register
@dataclass(frozen=True, slots=True)
class SceneStore(Message):
    """Scene Store."""

    OPCODE: ClassVar[int] = 0x8246
    RESPONSE: ClassVar[type[Message] | None] = SceneRegisterStatus
    scene_number: int = field(metadata=SCENE_NUMBER)


@register
@dataclass(frozen=True, slots=True)
class SceneStoreUnacknowledged(Message):
    """Scene Store Unacknowledged."""

    OPCODE: ClassVar[int] = 0x8247
    scene_number: int = field(metadata=SCENE_NUMBER)


@register
@dataclass(frozen=True, slots=True)
class SceneDelete(Message):
    """Scene Delete."""

    OPCODE: ClassVar[int] = 0x829E
    RESPONSE: ClassVar[type[Message] | None] = SceneRegisterStatus
    scene_number: int = field(metadata=SCENE_NUMBER)


@register
@dataclass(frozen=True, slots=True)
class SceneDeleteUnacknowledged(Message):
    """Scene Delete Unacknowledged."""

    OPCODE: ClassVar[int] = 0x829F
    scene_number: int = field(metadata=SCENE_NUMBER)
