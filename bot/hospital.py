"""The hospital's contact details, set per hospital in data/hospital.yml; each value may be
overridden from the environment (HOSPITAL_PHONE, HOSPITAL_EMAIL, HOSPITAL_HOURS,
EMERGENCY_NUMBER) so one build serves several sites."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Dict

import yaml

from bot.paths import HOSPITAL_FILE

_ENVIRONMENT = {"phone": "HOSPITAL_PHONE", "email": "HOSPITAL_EMAIL", "hours": "HOSPITAL_HOURS",
                "emergency_number": "EMERGENCY_NUMBER"}


@dataclass(frozen=True)
class HospitalContacts:
    phone: str
    email: str
    hours: str
    emergency_number: str

    def as_template_values(self) -> Dict[str, str]:
        return {"hospital_phone": self.phone, "hospital_email": self.email,
                "hospital_hours": self.hours, "emergency_number": self.emergency_number}


def load_contacts() -> HospitalContacts:
    with open(HOSPITAL_FILE, encoding="utf-8") as f:
        values = yaml.safe_load(f)["contacts"]
    for key, variable in _ENVIRONMENT.items():
        values[key] = os.environ.get(variable, values.get(key)) or ""
        if not values[key].strip():
            raise ValueError(f"{HOSPITAL_FILE}: contacts.{key} is empty and {variable} is not set")
    return HospitalContacts(**{k: str(values[k]) for k in _ENVIRONMENT})
