"""Reconciliation of 宛名 with 住基: deterministic checks of 住登者, probabilistic 名寄せ of 住登外者
and the clerk's decisions (see docs/reconcile.md)."""
