# Names vulture reports as unused but that are used by something it cannot follow: Flask's
# decorators and hooks, Jinja templates, peewee, WTForms, click, Werkzeug's request parser, and the
# tests. Started from `vulture app crypto --min-confidence 60 --make-whitelist`, trimmed and grouped.
# Check: .venv/bin/vulture app crypto .vulture-whitelist.py --min-confidence 60   (reports nothing)
# Never executed; `_` stands for "an attribute of some object".
# ruff: noqa

# wsgi.py calls the factory; Flask reads these attributes of the app it builds.
create_app  # app/__init__.py
_.request_class  # app/__init__.py: MeldpuntRequest, whose file parts are sealed as they stream
_.session_interface  # app/__init__.py: EncryptedSessionInterface
_.log_exception  # app/web/errors.py: Flask calls it for errors no handler reached
_.max_content_length  # app/web/uploads.py: Flask reads it for each request (the body limit)
_.exc_text  # app/web/errors.py: the logging module reads it when it formats a record

# Views: registered on their blueprint by @bp.get/@bp.post/@bp.route, reached through url_for.
home  # app/audit/__init__.py, app/reporter/pages.py, app/team/reports.py
policy  # app/reporter/pages.py
team_key_page  # app/reporter/pages.py
security_txt  # app/reporter/pages.py
hall_of_fame  # app/reporter/pages.py
robots_txt  # app/reporter/pages.py
report_form  # app/reporter/submit.py
download  # app/reporter/mailbox.py
envelope  # app/reporter/mailbox.py: an envelope as stored, for the browser to open
logout  # app/reporter/mailbox.py
news_stop  # app/reporter/news_stop.py: the news mail's stop link
news_stop_confirmed  # app/reporter/news_stop.py
start_upload  # app/reporter/uploads.py, app/team/uploads.py
upload_part  # app/reporter/uploads.py, app/team/uploads.py
upload_status  # app/reporter/uploads.py, app/team/uploads.py
signin  # app/team/auth.py
signout  # app/team/auth.py
enrol  # app/team/auth.py
enrol_qr  # app/team/auth.py
export  # app/team/publishing.py
export_since  # app/team/publishing.py
reply  # app/team/replies.py
reply_file  # app/team/replies.py
cra  # app/team/reports.py
users  # app/team/users.py
user_action  # app/team/users.py

# Flask hooks, registered by decorator inside init_app (before/after/teardown request, error
# handlers, context processors, template filters).
_proof_of_work  # app/reporter/submit.py: pow_challenge and pow_bits for the templates
_installation_salt_for_deriving_pages  # app/reporter/submit.py: installation_salt for the templates
_schema_current  # app/web/context.py
_close  # app/web/context.py
_only_live_sessions  # app/web/sessions.py
_csrf  # app/web/errors.py
_http  # app/web/errors.py
_domain  # app/web/errors.py
e  # app/web/errors.py: the error handler's argument, required by Flask
_headers  # app/web/headers.py
_remember  # app/web/i18n.py
_languages  # app/web/i18n.py
_month  # app/web/i18n.py: the `month` filter

# gunicorn loads the logger class named in gunicorn.conf.py and calls these on it.
ServerLog  # app/web/server_log.py: `logger_class`
_._access_log_enabled  # app/web/server_log.py: read by gunicorn's Logger.access_log_enabled
_.access  # app/web/server_log.py: called by gunicorn's workers after each request

# Methods Flask and Werkzeug call on our subclasses, with the signatures they call them with.
_.open_session  # app/web/sessions.py
_.save_session  # app/web/sessions.py
_._get_file_stream  # app/web/uploads.py
total_content_length  # app/web/uploads.py
whence  # app/domain/uploads.py: StreamedPart.seek, the file-object protocol
tb  # crypto/bundle.py, crypto/envelope.py: __exit__'s third argument

# Read through flask.g with g.get("…"): the encrypting pages' CSP (app/web/headers.py) and the
# parser's hook for file parts (app/web/uploads.py).
_.encrypting  # app/reporter/mailbox.py, app/reporter/submit.py, app/team/reports.py
_.streamed_files  # app/web/uploads.py

# WTForms: a field rendered by a template, and an inline validator found by its name.
again  # app/team/auth.py: templates/team/enrol_password.html
_.validate_credit_name  # app/reporter/forms.py
_.validate_message  # app/team/forms.py
_.process_formdata  # app/team/forms.py: DayField, called by WTForms
_.field_flags  # app/team/forms.py: DayRequired, read by WTForms (the required mark)
_.validate_state  # app/team/forms.py
_.validate_duplicate_of  # app/team/forms.py
_.validate_reason  # app/team/forms.py
_.validate_name  # app/team/forms.py

# peewee: columns read with getattr(report, f"{step}_sent") (app/domain/deadlines.py, workflow.py)
# and a Meta option.
cra_early_warning_sent  # app/domain/models.py
cra_notification_sent  # app/domain/models.py
cra_final_report_sent  # app/domain/models.py
indexes  # app/domain/models.py: Chunk's unique (item, seq)

# Dataclass fields read by templates/reporter/mailbox.html.
author  # app/domain/reports.py: Entry.author
team_only  # app/domain/reports.py: Entry.team_only, an envelope the reporter's key does not open
broken  # app/domain/reports.py: Entry.broken, an envelope that does not open at all

# zipfile reads it when writing the member: owner-only file mode inside export bundles.
_.external_attr  # crypto/bundle.py

# Public API of the crypto core, exercised by the tests (tests/test_passphrase.py, test_report_md.py).
entropy_bits  # crypto/passphrase.py
shown_block  # crypto/markdown.py: what a code block of report.md shows, each block checked against it

# click commands, registered by @main.command() / @user.command() (the `meldpunt` entry point).
init  # app/cli.py
purge  # app/cli.py
user_add  # app/cli.py
notify  # app/cli.py
user_reset  # app/cli.py
audit_verify  # app/cli.py
audit_head  # app/cli.py

# Werkzeug and Flask call these on our request class and URL adapter (app/web/uploads.py, urls.py).
_.get_json  # app/web/uploads.py: MeldpuntRequest.get_json, called by Flask-WTF
force  # app/web/uploads.py: the signature Werkzeug's get_json has
_.routing_exception  # app/web/urls.py: Flask raises it when the request is dispatched
_.regex  # app/web/urls.py: BoundedInt.regex, read by Werkzeug when it builds the rule
report_sealed  # app/reporter/submit.py: a view (browser-sealed final request)
mailbox_sealed  # app/reporter/mailbox.py: a view
reply_sealed  # app/team/replies.py: a view
_.without_rowid  # app/domain/schema.py: peewee reads it when it creates the table

# Retention (issue 11, part 3): views Flask registers, and what the auditor's pages read.
hold  # app/team/reports.py: a view (a legal hold, placed or lifted)
close  # app/reporter/mailbox.py: a view (the reporter closes their mailbox)

# The privacy officers' views (app/audit/), registered by @bp.get, reached through url_for.
history  # app/audit/history.py
head_file  # app/audit/history.py
verify_now  # app/audit/history.py
show_inventory  # app/audit/pages.py: endpoint audit.inventory
show_selfcheck  # app/audit/pages.py: endpoint audit.selfcheck
show_processing  # app/audit/processing.py: endpoint audit.processing
processing_markdown  # app/audit/processing.py
processing_json  # app/audit/processing.py

# Four eyes (issue 11, point 5): views Flask registers, and a column the proposal lists show.
add_user  # app/team/users.py: a view (a new account; an admin as a proposal)
show_proposals  # app/team/proposals.py, app/audit/proposals.py: endpoint team.proposals, audit.proposals
decide  # app/team/proposals.py, app/audit/proposals.py: a view (approve, reject, withdraw)
proposed_at  # app/domain/models.py: Proposal.proposed_at, shown by templates/team/proposal_macros.html

# Four eyes without one person's second account, and the chain's formula (review of issue 11).
content_of  # app/domain/chain.py: an entry's content from its fields in one call, for tools and tests
_reads  # app/web/limits.py (flask-limiter request_filter)

# The report form without a session (issue 12, point 4): WTForms and Flask-WTF call these.
csrf_class  # app/reporter/forms.py: Meta.csrf_class, read by WTForms
generate_csrf_token  # app/web/anonymous.py: FormCSRF, called by WTForms
validate_csrf_token  # app/web/anonymous.py: FormCSRF, called by WTForms
csrf_valid  # app/web/csrf.py: g.csrf_valid, read by Flask-WTF's forms
immutable  # app/web/static_files.py: response.cache_control.immutable, a header
no_cache  # app/web/static_files.py: response.cache_control.no_cache, a header

# html.parser.HTMLParser calls these while `meldpunt-team verify-site` reads a served page.
handle_starttag  # crypto/verify_site.py
handle_endtag  # crypto/verify_site.py
handle_data  # crypto/verify_site.py
