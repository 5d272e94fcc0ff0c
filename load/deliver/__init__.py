"""Purpose-bound delivery to common SaaS: contracts (ODCS), pseudonymous ids, DV suppression,
opt-out and the delivery ledger, each rule in one module (see docs/contracts.md)."""
