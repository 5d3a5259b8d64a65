/// txn's version: printed by `txn --version` and written into rendered notebooks. It lives in TxnNotebook, the
/// lowest module that shows it (the command line takes it from here).
public let txnVersion = "0.2.0"
