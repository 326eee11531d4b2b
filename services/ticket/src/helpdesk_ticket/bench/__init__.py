"""The ticket service benchmark (issue 3): `python -m helpdesk_ticket.bench [--quick]`."""
