# Cuspid staff app — English (en)
# Keys are shared with fr/main.ftl; keep both files in step.

## Shell

app-name = Cuspid
skip-to-content = Skip to content
nav-label = Main navigation
live-on = Live updates connected
live-off = Live updates disconnected
footer-request-id = Request ID:

## Navigation

nav-dashboard = Dashboard
nav-patients = Patients
nav-doctors = Doctors
nav-appointments = Appointments
nav-treatments = Treatments
nav-prescriptions = Prescriptions
nav-invoices = Invoices
nav-payments = Payments
nav-lab-requests = Lab requests
nav-inventory = Inventory
nav-inventory-logs = Inventory logs
nav-expenses = Expenses
nav-reports = Reports
nav-profile = Profile

## Dashboard

dashboard-title = Dashboard
dashboard-locations = Locations
dashboard-no-locations = No location has been set up for this practice yet.
dashboard-address = Address
dashboard-system = System
dashboard-version = Version
dashboard-database = Database
dashboard-timezone = Time zone
dashboard-currency = Currency
dashboard-hours = Opening hours

## Errors

error-back = Back to the dashboard
error-not-found-title = Page not found
error-not-found-detail = There is no page at this address. It may have been moved, or the link may be mistyped.
error-payload-too-large-title = Upload too large
error-payload-too-large-detail = The data sent is larger than the server accepts. Try a smaller file or fewer at a time.
error-internal-title = Something went wrong
error-internal-detail = The server could not complete this request. It has been logged; quote the request ID below if you report it.
error-bad-request-title = Invalid request
error-bad-request-detail = The server could not understand this request. Reload the page and try again.
error-forbidden-title = Access denied
error-forbidden-detail = Your role does not allow this action. Ask a practice administrator if you need access.
error-unauthorized-title = Sign-in required
error-unauthorized-detail = Your session has ended or you are not signed in. Sign in again to continue.

## Pages not built yet

empty-coming = This page is not built yet
page-patients-blurb = Patients: search, register and open patient records, with contact details, families, insurance, consents and medical alerts.
page-doctors-blurb = Doctors: the dentists, hygienists and assistants of the practice, the locations they work at and their working hours.
page-appointments-blurb = Appointments: the agenda per chair and per practitioner, to book, move, confirm and check in patients, with a waiting list.
page-treatments-blurb = Treatments: treatment plans and completed procedures per patient, charted on the odontogram by tooth and surface.
page-prescriptions-blurb = Prescriptions: medication, dosage and duration written for a patient, checked against recorded allergies, ready to print and sign.
page-invoices-blurb = Invoices: bills raised from completed treatments, with line items, insurance and patient shares, balances and printing.
page-payments-blurb = Payments: money received by cash, card, transfer or from insurers, allocated to invoices, with refunds and the daily cash-up.
page-lab-requests-blurb = Lab requests: work sent to dental laboratories — crowns, bridges, dentures, aligners — with due dates and what came back.
page-inventory-blurb = Inventory: consumables and materials in stock at each location, with quantities, reorder levels, suppliers, lots and expiry dates.
page-inventory-logs-blurb = Inventory logs: every stock movement — received, used in a treatment, adjusted or discarded — with who made it and when.
page-expenses-blurb = Expenses: the practice’s outgoings — rent, laboratory bills, supplies, salaries — by category, supplier and location.
page-reports-blurb = Reports: production and collections per practitioner, appointments kept and missed, outstanding balances and stock value.
page-profile-blurb = Profile: your own account — name, language, password, two-factor sign-in and the sessions currently open.
error-validation-title = Please check the form
error-validation-detail = Some fields are missing or not valid. Nothing was saved.
error-method-not-allowed-title = Action not allowed here
error-method-not-allowed-detail = This address does not accept that kind of request.
error-conflict-title = Changed by someone else
error-conflict-detail = This record was changed while you were editing it. Reload it and apply your change again.
error-unsupported-media-type-title = Unsupported format
error-unsupported-media-type-detail = The server does not accept data in this format.
error-rate-limited-title = Too many attempts
error-rate-limited-detail = Please wait a moment before trying again.
error-unavailable-title = Temporarily unavailable
error-unavailable-detail = The server cannot reach its database or file storage right now. Try again in a minute.

## Background jobs (admin)

nav-jobs = Background jobs
jobs-title = Background jobs
jobs-queue = Queue
jobs-pending = Waiting
jobs-running = Running
jobs-done = Done
jobs-dead = Failed for good
jobs-dead-letters = Jobs that failed every attempt
jobs-no-dead = No job has failed for good.
jobs-kind = Kind
jobs-attempts = Attempts
jobs-last-error = Last error
jobs-created = Created
jobs-actions = Actions
jobs-retry = Retry

## Sign-in

login-title = Sign in
login-email = Email
login-password = Password
login-submit = Sign in
login-rejected = The email or password is not correct, or the account is locked for a few minutes after too many attempts.
login-expired = Your session ended. Sign in again to return to the page you were on.

logout = Sign out

## Profile

profile-account = Your account
profile-name = Name
profile-roles = Roles
profile-password = Password
profile-current-password = Current password
profile-new-password = New password
profile-password-hint = At least 12 characters. A few unrelated words make a strong, memorable password.
profile-change-password = Change password
profile-password-changed = Your password was changed. Every other session has been signed out.
profile-sessions = Where you are signed in
profile-session-started = Signed in
profile-session-last-used = Last used
profile-session-device = Device
profile-session-this = This device

mfa-title = Two-step sign-in
mfa-login-title = Enter your code
mfa-login-hint = Open your authenticator app and enter the 6-digit code it shows for Cuspid.
mfa-code = Code
mfa-recovery-hint = Lost your phone? Enter one of your recovery codes instead.
mfa-verify = Verify
mfa-start-over = Start over
mfa-rejected = That code is not correct or has already been used. Codes change every 30 seconds.
mfa-qr-label = QR code to scan with an authenticator app
mfa-back-to-profile = Back to profile
mfa-required-notice = Your role requires two-step sign-in. Set it up below to continue working in Cuspid.
mfa-recovery-title = Your recovery codes
mfa-recovery-once = Each code signs you in once if you lose your phone. Store them somewhere safe: they are shown only now.
mfa-status = Status
mfa-on = On
mfa-on-detail = You sign in with your password and a code from your authenticator app.
mfa-codes-left = Recovery codes left
mfa-disable = Turn off two-step sign-in
mfa-enrol = Set up two-step sign-in
mfa-step-app = Install an authenticator app (for example Google Authenticator, Microsoft Authenticator, 1Password or Aegis).
mfa-step-scan = Scan this QR code with the app.
mfa-step-code = Enter the 6-digit code the app shows.
mfa-manual = Cannot scan? Enter this key in the app instead:
mfa-turn-on = Turn on
mfa-required-cannot-disable = Your role requires two-step sign-in, so it cannot be turned off.
profile-mfa = Two-step sign-in
profile-mfa-on = On
profile-mfa-off = Off
profile-mfa-manage = Manage
profile-mfa-set-up = Set up
nav-security = Security
security-mfa-roles = Roles that must use two-step sign-in
security-mfa-roles-hint = People with a checked role are asked to set up an authenticator app at their next sign-in, and cannot open any other page until they do.
settings-save = Save
settings-saved = Saved.
role-admin = Administrator
role-dentist = Dentist
role-hygienist = Hygienist
role-assistant = Assistant
role-receptionist = Receptionist
role-coordinator = Treatment coordinator
role-billing = Billing
phone-title = Sign in with your phone
phone-number = Mobile number
phone-hint = We text a 6-digit code to the number on your account. Numbers without a country code are read as North American (+1).
phone-send = Text me a code
phone-code-sent = If this number belongs to an account, a code is on its way to
phone-code = 6-digit code
phone-new-code = Ask for a new code
phone-use-password = Sign in with email and password instead
phone-invalid = This is not a phone number we can text
phone-rate-limited = Too many codes were asked for this number or from this network. Wait 15 minutes, or sign in with your email and password.
phone-code-rejected = That code is not correct, has expired (codes last 5 minutes) or has been tried too many times.
login-with-phone = Sign in with a phone number instead
reset-title = Reset your password
reset-ask-hint = Enter the email address of your account. We will email you a link to choose a new password.
reset-send = Email me a link
reset-sent = If an account uses this address, a link to choose a new password is on its way. It works once, for one hour.
reset-save = Save the new password
reset-dead = This link has expired or was already used.
reset-ask-again = Ask for a new link
reset-back = Back to sign in
login-forgot = Forgot your password?
login-reset-done = Your password was changed and every session was signed out. Sign in with the new password.
doctor-add = Add a provider
doctor-none = No provider yet
doctor-none-hint = Add the dentists and hygienists who see patients: their agenda, charting and signatures start here.
doctor-name = Name
doctor-roles = Roles
doctor-specialty = Specialty
doctor-licence_number = Licence number
doctor-npi = NPI or provider number
doctor-npi-hint = A US NPI has 10 digits and is checked; elsewhere, the provider number of your country's plan.
doctor-color = Agenda colour
doctor-phone = Mobile number
doctor-phone-hint = For signing in by texted code.
doctor-email-hint = Their sign-in. They choose a password through "Forgot your password?" or sign in by phone.
doctor-status = Status
doctor-active = Active
doctor-inactive = Inactive
doctor-deactivate = Deactivate
doctor-activate = Reactivate
doctor-back = All providers
doctor-fix = Please correct the following:
doctor-email = Email
doctor-active-field = Active
spec-general_dentistry = General dentistry
spec-dental_hygiene = Dental hygiene
spec-orthodontics = Orthodontics
spec-endodontics = Endodontics
spec-periodontics = Periodontics
spec-prosthodontics = Prosthodontics
spec-oral_surgery = Oral and maxillofacial surgery
spec-pediatric_dentistry = Pediatric dentistry
spec-oral_medicine = Oral medicine
spec-dental_anesthesiology = Dental anesthesiology
spec-orofacial_pain = Orofacial pain
spec-oral_pathology = Oral and maxillofacial pathology
spec-oral_radiology = Oral and maxillofacial radiology
spec-dental_public_health = Dental public health
nav-audit = Audit trail
audit-export = Export CSV
audit-verify = Verify the chain
audit-verify-ok = The chain is intact. Events checked:
audit-verify-checkpoints = signed checkpoints:
audit-verify-broken = The chain is BROKEN at event
audit-user = User
audit-anyone = Anyone
audit-action = Action
audit-patient = Patient
audit-from = From
audit-to = To
audit-filter = Filter
audit-access-report = Who opened this patient's record
audit-first = First
audit-last = Last
audit-count = Times
audit-events = Events, newest first
audit-none = No event matches these filters.
audit-when = When
audit-subject = Subject
audit-details = Details
audit-older = Older events
tokens-title = API tokens
tokens-created = Your new token. Copy it now: it is shown only once.
tokens-list = Tokens
tokens-none = No API token yet.
tokens-permissions = Permissions
tokens-created-on = Created
tokens-expires = Expires
tokens-last-used = Last used
tokens-never = never
tokens-revoke = Revoke
tokens-dead = Revoked or expired
tokens-new = New token
tokens-valid-days = Valid for (days)
tokens-create = Create the token
nav-api-tokens = API tokens
security-sessions = Sessions and alerts
security-session_idle_minutes = Sign out after inactivity (minutes)
security-session_absolute_hours = Sign out after (hours), whatever the activity
security-anomaly_patients_per_hour = Alert when one person opens more patients than this in an hour
security-anomaly_off_hours = Alert on patient records opened outside opening hours
security-anomaly-hint = Alerts appear on the audit trail page and are emailed to the administrators.
settings-whole-number = must be a whole number
audit-alerts = Security alerts
audit-alert-patients_per_hour = opened many patients' records within an hour
audit-alert-off_hours = opened patient records outside opening hours
audit-acknowledge = Mark as reviewed
