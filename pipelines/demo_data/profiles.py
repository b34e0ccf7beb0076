"""What sets one fictional provider apart from another in a generated network (``tiedolla generate --providers``).

The default profile is the single demo provider: generating with it writes exactly what ``generate`` always did.
"""

from __future__ import annotations

from dataclasses import dataclass

#: of the employers hosting students, the share the CRM has no account for (a managed provider has fewer)
UNMANAGED_SHARE = 0.25


@dataclass(frozen=True)
class Profile:
    #: students, as a multiple of the size's count
    scale: float = 1.0
    #: koulutus-code prefixes (the field, koulutusala) this provider teaches more of: four times the usual weight
    fields: tuple[str, ...] = ()
    #: eronnut and katsotaaneronneeksi, as a multiple of their usual shares (graduations give way)
    dropout: float = 1.0
    #: hosting employers with no CRM account
    unmanaged_share: float = UNMANAGED_SHARE

    def fates(self) -> tuple[float, float, float]:
        """The thresholds of a study right's fate on a uniform draw: graduates below the first, eronnut below the
        second, katsotaaneronneeksi below the third, continues past its planned end above it (14 % always)."""
        extra = self.dropout - 1.0
        return 0.62 - 0.24 * extra, 0.82 - 0.04 * extra, 0.86


DEFAULT = Profile()
