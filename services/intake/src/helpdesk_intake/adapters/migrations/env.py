from helpdesk_shared.migrations.env_support import run

run()
