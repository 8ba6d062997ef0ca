"""Balances: free and held amounts per (wallet, currency), in ledger scale.

Holds are taken when an order enters and released (or spent) as it fills or leaves the book, so
`held` of a wallet always equals what its open orders still need. Fees collected by the venue
are kept apart so that conservation can be checked: for every currency, the sum of all balances
plus the fees collected equals the sum of all deposits.
"""

from __future__ import annotations

from collections import defaultdict


class Ledger:
    __slots__ = ("balances", "deposits", "dirty", "fees")

    def __init__(self) -> None:
        #: (wallet_id, currency) -> [free, held]; a two-item list is the cheapest mutable cell.
        #: A cell, once created, is never replaced, so the engine may keep a reference to it
        #: (an open order keeps the cell its hold sits in).
        self.balances: dict[tuple[str, str], list[int]] = {}
        self.fees: dict[str, int] = defaultdict(int)
        self.deposits: dict[str, int] = defaultdict(int)
        #: Pairs touched by the current command, in first-touch order, each with its cell (so
        #: the balance events need no second lookup).
        self.dirty: dict[tuple[str, str], list[int]] = {}

    def cell(self, wallet_id: str, currency: str) -> list[int]:
        key = (wallet_id, currency)
        cell = self.balances.get(key)
        if cell is None:
            cell = self.balances[key] = [0, 0]
        self.dirty[key] = cell
        return cell

    def free(self, wallet_id: str, currency: str) -> int:
        cell = self.balances.get((wallet_id, currency))
        return cell[0] if cell else 0

    def held(self, wallet_id: str, currency: str) -> int:
        cell = self.balances.get((wallet_id, currency))
        return cell[1] if cell else 0

    def deposit(self, wallet_id: str, currency: str, amount: int) -> bool:
        """Credit (or debit, when negative) the free balance. False if a debit exceeds it."""
        cell = self.cell(wallet_id, currency)
        if cell[0] + amount < 0:
            return False
        cell[0] += amount
        self.deposits[currency] += amount
        return True

    def hold(self, wallet_id: str, currency: str, amount: int) -> bool:
        """Move `amount` from free to held. False (and nothing changes) if free is short."""
        key = (wallet_id, currency)
        cell = self.balances.get(key)
        if cell is None or cell[0] < amount:
            return False
        cell[0] -= amount
        cell[1] += amount
        self.dirty[key] = cell
        return True

    def release(self, wallet_id: str, currency: str, amount: int) -> None:
        """Move `amount` from held back to free."""
        if amount:
            cell = self.cell(wallet_id, currency)
            cell[1] -= amount
            cell[0] += amount

    def take_dirty(self) -> list[tuple[str, str]]:
        keys = list(self.dirty)
        self.dirty.clear()
        return keys

    def totals(self) -> dict[str, int]:
        """Sum of free + held per currency over all wallets (for conservation checks)."""
        out: dict[str, int] = defaultdict(int)
        for (_, currency), (free, held) in self.balances.items():
            out[currency] += free + held
        return dict(out)
