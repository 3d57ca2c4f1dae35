"""The Faust application: thin agents around the ecm service layer."""
