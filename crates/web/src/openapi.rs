//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document of the JSON API, built from the route
//! table (so every `/api/v1` route is in it with the permission it needs) and the schemas
//! below. A test fails when a route has no description here.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::access::{Access, route_table};

/// (method, path) → summary, request schema, response status and schema.
struct Op {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    request: Option<&'static str>,
    status: &'static str,
    response: Option<&'static str>,
}

const OPS: &[Op] = &[
    Op {
        method: "GET",
        path: "/api/v1/procedure-codes",
        summary: "The organization's procedure and condition catalog (the starter catalog until edited).",
        request: None,
        status: "200",
        response: Some("ProcedureCodeList"),
    },
    Op {
        method: "GET",
        path: "/api/v1/patients/{id}/chart",
        summary: "The patient's chart: its version, the odontogram (teeth with anything charted, FDI numbers) and every entry, oldest first; audited.",
        request: None,
        status: "200",
        response: Some("Chart"),
    },
    Op {
        method: "POST",
        path: "/api/v1/patients/{id}/procedures",
        summary: "Chart a procedure or condition: code, tooth (FDI) or area, surfaces, status. 422 names the invalid part; 409 when the tooth changed since base_version; 403 completing a dentist-only procedure without chart.sign.",
        request: Some("ProcedureNew"),
        status: "201",
        response: Some("ChartEntry"),
    },
    Op {
        method: "PATCH",
        path: "/api/v1/patients/{id}/procedures/{entry}",
        summary: "Complete a planned entry, or void one with a reason (it stays in the history).",
        request: Some("ProcedureChange"),
        status: "200",
        response: Some("ChartEntry"),
    },
    Op {
        method: "GET",
        path: "/api/v1/locations",
        summary: "The locations (clinics) the user may see, with their time zones.",
        request: None,
        status: "200",
        response: Some("LocationList"),
    },
    Op {
        method: "GET",
        path: "/api/v1/operatories",
        summary: "The chairs of a location (query location_id), in their order.",
        request: None,
        status: "200",
        response: Some("OperatoryList"),
    },
    Op {
        method: "GET",
        path: "/api/v1/providers",
        summary: "The providers who may work at a location (query location_id).",
        request: None,
        status: "200",
        response: Some("ProviderList"),
    },
    Op {
        method: "GET",
        path: "/api/v1/appointment-types",
        summary: "The appointment types with their time patterns.",
        request: None,
        status: "200",
        response: Some("AppointmentTypeList"),
    },
    Op {
        method: "GET",
        path: "/api/v1/appointments",
        summary: "A location's appointments overlapping from..to (instants, or dates at the location; default today), with their patients; audited.",
        request: None,
        status: "200",
        response: Some("AppointmentList"),
    },
    Op {
        method: "POST",
        path: "/api/v1/appointments",
        summary: "Book an appointment. 409 names the appointment in the way; 422 on override_reason when it is outside the provider's hours, in a blockout or in the past.",
        request: Some("NewAppointment"),
        status: "201",
        response: Some("Appointment"),
    },
    Op {
        method: "GET",
        path: "/api/v1/appointments/{id}",
        summary: "An appointment with its history (the read is audited).",
        request: None,
        status: "200",
        response: Some("Appointment"),
    },
    Op {
        method: "PATCH",
        path: "/api/v1/appointments/{id}",
        summary: "Move, resize or edit an appointment and/or change its status (scheduled, confirmed, arrived, seated, completed, no_show, cancelled with cancel_reason). version refuses a stale change (409).",
        request: Some("AppointmentChange"),
        status: "200",
        response: Some("Appointment"),
    },
    Op {
        method: "POST",
        path: "/api/v1/appointments/{id}/reschedule",
        summary: "Replace an appointment by a new one at another time: the old one becomes rescheduled and points at the new.",
        request: Some("NewAppointment"),
        status: "201",
        response: Some("Appointment"),
    },
    Op {
        method: "GET",
        path: "/api/v1/appointments/{id}/waitlist-matches",
        summary: "Patients on the ASAP list who could take the time a cancelled appointment freed.",
        request: None,
        status: "200",
        response: Some("WaitlistList"),
    },
    Op {
        method: "GET",
        path: "/api/v1/slots",
        summary: "The next free slots for a length or an appointment type at a location, with a provider or anyone, honouring schedules, blockouts, bookings and the provider's pattern.",
        request: None,
        status: "200",
        response: Some("SlotList"),
    },
    Op {
        method: "GET",
        path: "/api/v1/waitlist",
        summary: "A location's ASAP list (query location_id).",
        request: None,
        status: "200",
        response: Some("WaitlistList"),
    },
    Op {
        method: "POST",
        path: "/api/v1/waitlist",
        summary: "Put a patient on the ASAP list.",
        request: Some("NewWaitlistEntry"),
        status: "201",
        response: Some("Created"),
    },
    Op {
        method: "DELETE",
        path: "/api/v1/waitlist/{id}",
        summary: "Take a patient off the ASAP list.",
        request: None,
        status: "204",
        response: None,
    },
    Op {
        method: "GET",
        path: "/api/v1/recalls",
        summary: "Recalls overdue or due within the organization's window at a location (query location_id).",
        request: None,
        status: "200",
        response: Some("RecallList"),
    },
    Op {
        method: "POST",
        path: "/api/v1/session",
        summary: "Sign in with email and password (and a TOTP code when enrolled); sets the session cookie.",
        request: Some("SignIn"),
        status: "200",
        response: Some("Me"),
    },
    Op {
        method: "DELETE",
        path: "/api/v1/session",
        summary: "Sign out.",
        request: None,
        status: "204",
        response: None,
    },
    Op {
        method: "GET",
        path: "/api/v1/me",
        summary: "The signed-in user.",
        request: None,
        status: "200",
        response: Some("Me"),
    },
    Op {
        method: "GET",
        path: "/api/v1/patients",
        summary: "Search patients (name with typos, phone in any format, birth date, chart number, email); best match first. Without q: recently updated.",
        request: None,
        status: "200",
        response: Some("PatientList"),
    },
    Op {
        method: "POST",
        path: "/api/v1/patients",
        summary: "Register a patient.",
        request: Some("NewPatient"),
        status: "201",
        response: Some("Patient"),
    },
    Op {
        method: "GET",
        path: "/api/v1/patients/{id}",
        summary: "A patient, with the medical alerts (the read is audited).",
        request: None,
        status: "200",
        response: Some("Patient"),
    },
    Op {
        method: "PUT",
        path: "/api/v1/patients/{id}",
        summary: "Replace a patient's details.",
        request: Some("NewPatient"),
        status: "200",
        response: Some("Patient"),
    },
    Op {
        method: "POST",
        path: "/api/v1/patients/{id}/status",
        summary: "Set the status: active, inactive, archived or deceased.",
        request: Some("StatusChange"),
        status: "204",
        response: None,
    },
    Op {
        method: "GET",
        path: "/api/v1/patients/{id}/history",
        summary: "Every version of the medical history, newest first.",
        request: None,
        status: "200",
        response: Some("HistoryVersionList"),
    },
    Op {
        method: "PUT",
        path: "/api/v1/patients/{id}/history",
        summary: "Record the medical history (a new version when anything changed or it was reviewed).",
        request: Some("HistorySave"),
        status: "200",
        response: Some("HistoryVersion"),
    },
    Op {
        method: "GET",
        path: "/api/v1/patients/{id}/documents",
        summary: "The patient's documents (not removed ones).",
        request: None,
        status: "200",
        response: Some("DocumentList"),
    },
    Op {
        method: "POST",
        path: "/api/v1/patients/{id}/documents",
        summary: "Upload a document (multipart: file, category, title, replaces).",
        request: Some("multipart"),
        status: "200",
        response: Some("Document"),
    },
    Op {
        method: "GET",
        path: "/api/v1/patients/{id}/duplicates",
        summary: "Records that may be the same person.",
        request: None,
        status: "200",
        response: Some("PatientList"),
    },
    Op {
        method: "POST",
        path: "/api/v1/patients/{id}/merge",
        summary: "Merge another record into this one.",
        request: Some("MergeRequest"),
        status: "201",
        response: Some("MergeCreated"),
    },
    Op {
        method: "POST",
        path: "/api/v1/merges/{id}/undo",
        summary: "Undo a merge within the organization's window.",
        request: None,
        status: "204",
        response: None,
    },
    Op {
        method: "GET",
        path: "/api/v1/families/{id}",
        summary: "A family: its guarantor and members.",
        request: None,
        status: "200",
        response: Some("Family"),
    },
    Op {
        method: "GET",
        path: "/api/v1/patient-imports/{id}",
        summary: "An import run: progress, counts and the rows refused.",
        request: None,
        status: "200",
        response: Some("ImportRun"),
    },
    Op {
        method: "GET",
        path: "/api/v1/medicines",
        summary: "The organization's medicine catalog (the starter list until edited), with each medicine's default order and drug classes.",
        request: None,
        status: "200",
        response: Some("MedicineList"),
    },
    Op {
        method: "GET",
        path: "/api/v1/patients/{id}/prescriptions",
        summary: "The patient's prescriptions, newest first; audited.",
        request: None,
        status: "200",
        response: Some("PrescriptionList"),
    },
    Op {
        method: "POST",
        path: "/api/v1/patients/{id}/prescriptions",
        summary: "Write a prescription: medicine_id, and any part of the order (the rest comes from the medicine's defaults). Checked against the patient's allergies, medications, flags and active prescriptions: warnings need override_reason, else 422 with the warnings. 422 names each invalid field; the prescriber must be a provider with a licence number.",
        request: Some("PrescriptionNew"),
        status: "201",
        response: Some("Prescription"),
    },
    Op {
        method: "GET",
        path: "/api/v1/patients/{id}/prescriptions/{rx}",
        summary: "One prescription; audited.",
        request: None,
        status: "200",
        response: Some("Prescription"),
    },
    Op {
        method: "GET",
        path: "/api/v1/patients/{id}/prescriptions/{rx}/pdf",
        summary: "The printable prescription (PDF, with the prescriber's licence number); audited as printed.",
        request: None,
        status: "200",
        response: Some("pdf"),
    },
    Op {
        method: "GET",
        path: "/api/v1/treatments",
        summary: "The organization's treatment cases (one patient's with ?patient=), open ones first; audited.",
        request: None,
        status: "200",
        response: Some("TreatmentCaseList"),
    },
    Op {
        method: "GET",
        path: "/api/v1/treatments/{id}",
        summary: "A treatment case with its diagnoses and procedures (chart entries) and the ids of its prescriptions and documents; audited.",
        request: None,
        status: "200",
        response: Some("TreatmentCase"),
    },
    Op {
        method: "POST",
        path: "/api/v1/patients/{id}/treatments",
        summary: "Open a treatment case for the patient: title (required), notes, dentist_id.",
        request: Some("TreatmentCaseNew"),
        status: "201",
        response: Some("TreatmentCase"),
    },
    Op {
        method: "POST",
        path: "/api/v1/patients/{id}/treatment-plans",
        summary: "Create a treatment plan: procedures checked like charting (a missing tooth is refused); returns its analysis (total_value, complexity_score, urgency) and the routing it would get.",
        request: Some("TreatmentPlanNew"),
        status: "201",
        response: Some("TreatmentPlan"),
    },
    Op {
        method: "GET",
        path: "/api/v1/treatment-plans/{id}",
        summary: "A treatment plan with its procedures, analysis and routing; audited.",
        request: None,
        status: "200",
        response: Some("TreatmentPlan"),
    },
    Op {
        method: "POST",
        path: "/api/v1/treatment-plans/{id}/visit-series",
        summary: "Propose the visit series for the plan's unbooked work, in visit order, with the first free slot of each visit; nothing is booked.",
        request: Some("SeriesPreferences"),
        status: "200",
        response: Some("VisitSeries"),
    },
    Op {
        method: "POST",
        path: "/api/v1/treatment-plans/{id}/visit-series/accept",
        summary: "Book the series in one transaction (the slots shown, or a fresh proposal): every visit or none; the procedures become scheduled.",
        request: Some("SeriesPreferences"),
        status: "201",
        response: Some("VisitSeries"),
    },
    Op {
        method: "GET",
        path: "/api/v1/tasks",
        summary: "The signed-in user's open tasks (theirs and their roles') and their count; the patients listed are audited.",
        request: None,
        status: "200",
        response: Some("TaskList"),
    },
    Op {
        method: "GET",
        path: "/api/v1/tasks/count",
        summary: "How many open tasks the signed-in user has and how many are urgent (the live badge; no names).",
        request: None,
        status: "200",
        response: Some("TaskCount"),
    },
    Op {
        method: "POST",
        path: "/api/v1/payments",
        summary: "Take a payment (header Idempotency-Key, required): the same key and body again returns the same 201 (header Idempotent-Replayed: true), the key with another body is a 422, a retry while the first is answered a 409. Paid to the oldest charges unless allocations say; more than owed is refused unless rest_to_credit.",
        request: Some("PaymentNew"),
        status: "201",
        response: Some("Payment"),
    },
    Op {
        method: "POST",
        path: "/api/v1/patients/{id}/payment-plans",
        summary: "Make a payment plan for what the patient owes: weekly or monthly installments, optional interest (posted as a charge), amortized exactly to the cent. Payments name it with payment_plan_id.",
        request: Some("PaymentPlanNew"),
        status: "201",
        response: Some("PaymentPlan"),
    },
    Op {
        method: "GET",
        path: "/api/v1/payment-plans/{id}",
        summary: "A payment plan: its schedule, what was paid through it, what each installment still needs and which are overdue.",
        request: None,
        status: "200",
        response: Some("PaymentPlan"),
    },
    Op {
        method: "POST",
        path: "/api/v1/invoices",
        summary: "Make an invoice (a draft, or issued with issue: true): procedures already charged (charge_id) and medicines, products or services; discounts per line or on the total (percent in basis points or an amount, with a reason; billing.adjust); tax per line in basis points. Issuing gives the location's next number (no gaps) and posts the items, the tax and the discounts.",
        request: Some("InvoiceNew"),
        status: "201",
        response: Some("Invoice"),
    },
    Op {
        method: "GET",
        path: "/api/v1/invoices",
        summary: "Invoices, newest first (at most 200): all, or one patient's (patient_id), or by status (draft, issued, partly_paid, paid, void).",
        request: None,
        status: "200",
        response: Some("InvoiceList"),
    },
    Op {
        method: "GET",
        path: "/api/v1/invoices/{id}",
        summary: "An invoice with its lines and where it stands: what was paid on it and what is due.",
        request: None,
        status: "200",
        response: Some("Invoice"),
    },
    Op {
        method: "POST",
        path: "/api/v1/invoices/{id}/issue",
        summary: "Issue a draft: its number and its postings, in one transaction.",
        request: None,
        status: "200",
        response: Some("Invoice"),
    },
    Op {
        method: "POST",
        path: "/api/v1/invoices/{id}/void",
        summary: "Void an invoice with a reason: a draft simply; an issued one nobody paid by reversing what issuing posted (its number stays, marked void). A paid invoice is a 409: reverse or refund the payment first.",
        request: Some("InvoiceVoid"),
        status: "200",
        response: Some("Invoice"),
    },
    Op {
        method: "GET",
        path: "/api/v1/patients/{id}/account",
        summary: "The patient's balance, credit on account and aging (0-30, 31-60, 61-90, 91-120, over 120 days) in minor units, as of the end of a day (today by default).",
        request: None,
        status: "200",
        response: Some("Account"),
    },
    Op {
        method: "GET",
        path: "/api/v1/openapi.json",
        summary: "This document.",
        request: None,
        status: "200",
        response: None,
    },
];

fn obj(props: Value, required: &[&str]) -> Value {
    json!({ "type": "object", "properties": props, "required": required })
}

/// `{"items": [...]}` of a schema.
fn list(item: &str) -> Value {
    obj(
        json!({"items": {"type": "array", "items": {"$ref": format!("#/components/schemas/{item}")}}}),
        &["items"],
    )
}

fn schemas() -> Value {
    let s = json!({"type": "string"});
    let id = json!({"type": "string", "format": "uuid"});
    let date = json!({"type": "string", "format": "date"});
    let phone = obj(
        json!({"kind": {"enum": ["mobile", "home", "work"]}, "number": s, "sms_consent": {"type": "boolean"}}),
        &["number"],
    );
    let address = obj(
        json!({"line1": s, "line2": s, "city": s, "region": s, "postal_code": s, "country": {"type": "string", "description": "ISO 3166-1 alpha-2"}}),
        &[],
    );
    let summary = obj(
        json!({
            "id": id, "chart_number": {"type": "integer"}, "given_name": s, "family_name": s, "preferred_name": s,
            "display_name": s, "birth_date": date, "status": {"$ref": "#/components/schemas/Status"},
            "phone": {"type": ["string", "null"]}, "location_id": id, "family_id": id,
            "score": {"type": "integer", "description": "0–100, search results only"}
        }),
        &[
            "id",
            "chart_number",
            "given_name",
            "family_name",
            "birth_date",
            "status",
        ],
    );
    let mut all = json!({
        "Problem": obj(json!({
            "type": s, "title": s, "status": {"type": "integer"}, "detail": s, "code": s, "request_id": s,
            "errors": {"type": "array", "items": obj(json!({"field": s, "message": s}), &["field", "message"])}
        }), &["title", "status", "code"]),
        "SignIn": obj(json!({"email": s, "password": s, "totp": s}), &["email", "password"]),
        "Me": {"type": "object"},
        "Status": {"enum": ["active", "inactive", "archived", "deceased", "merged"]},
        "Phone": phone,
        "Address": address,
        "NewPatient": obj(json!({
            "given_name": s, "family_name": s, "middle_name": s, "preferred_name": s,
            "birth_date": date, "sex": {"enum": ["female", "male", "other", "unknown"]},
            "gender_identity": s, "pronouns": s, "language": s,
            "phone": {"type": "string", "description": "a mobile number, any format"},
            "phones": {"type": "array", "items": {"$ref": "#/components/schemas/Phone"}},
            "email": s, "email_consent": {"type": "boolean"}, "address": {"$ref": "#/components/schemas/Address"},
            "emergency_contact": obj(json!({"name": s, "relationship": s, "phone": s}), &[]),
            "referral_source": s, "referral_detail": s, "national_id": s, "external_id": s,
            "custom": {"type": "object", "additionalProperties": s},
            "location_id": id, "restricted": {"type": "boolean"},
            "family": {"description": "\"own\" (default), {\"join\": patient id} or {\"guarantor\": {name, relationship, phone, email}}"}
        }), &["given_name", "family_name", "birth_date"]),
        "Patient": obj(json!({
            "id": id, "chart_number": {"type": "integer"}, "status": {"$ref": "#/components/schemas/Status"},
            "location_id": id, "restricted": {"type": "boolean"}, "family_id": id, "merged_into": {"type": ["string", "null"]},
            "given_name": s, "family_name": s, "middle_name": s, "preferred_name": s, "birth_date": date,
            "sex": s, "gender_identity": s, "pronouns": s, "language": s,
            "phones": {"type": "array", "items": {"$ref": "#/components/schemas/Phone"}},
            "email": s, "email_consent": {"type": "boolean"}, "address": {"$ref": "#/components/schemas/Address"},
            "emergency_contact": {"type": "object"}, "referral_source": s, "referral_detail": s,
            "national_id_masked": s, "external_id": s, "custom": {"type": "object"},
            "alerts": {"type": "array", "items": {"$ref": "#/components/schemas/Alert"}},
            "created_at": s, "updated_at": s
        }), &["id", "chart_number", "given_name", "family_name", "birth_date", "status"]),
        "PatientSummary": summary,
        "PatientList": obj(json!({"items": {"type": "array", "items": {"$ref": "#/components/schemas/PatientSummary"}}}), &["items"]),
        "Alert": obj(json!({"kind": s, "text": s, "critical": {"type": "boolean"}}), &["kind", "critical"]),
        "MedicalHistory": obj(json!({
            "no_known_allergies": {"type": "boolean"},
            "allergies": {"type": "array", "items": obj(json!({"substance": s, "reaction": s, "severity": {"enum": ["mild", "moderate", "severe", "life_threatening"]}}), &["substance"])},
            "medications": {"type": "array", "items": obj(json!({"name": s, "dose": s, "frequency": s}), &["name"])},
            "conditions": {"type": "array", "items": obj(json!({"code": {"type": "string", "description": "ICD-10-CM"}, "text": s}), &[])},
            "flags": {"type": "array", "items": {"enum": ["anticoagulants", "premedication_required", "latex_allergy", "bisphosphonates", "pregnancy", "diabetes", "heart_condition", "hypertension", "bleeding_disorder", "immunocompromised", "radiation_head_neck", "smoker"]}},
            "notes": s
        }), &[]),
        "HistorySave": obj(json!({"history": {"$ref": "#/components/schemas/MedicalHistory"}, "reviewed": {"type": "boolean"}}), &["history"]),
        "HistoryVersion": obj(json!({
            "version": {"type": "integer"}, "history": {"$ref": "#/components/schemas/MedicalHistory"},
            "alerts": {"type": "array", "items": {"$ref": "#/components/schemas/Alert"}},
            "changes": {"type": "array", "items": s}, "reviewed": {"type": "boolean"}, "recorded_by": s, "recorded_at": s
        }), &["version", "history"]),
        "HistoryVersionList": obj(json!({"items": {"type": "array", "items": {"$ref": "#/components/schemas/HistoryVersion"}}}), &["items"]),
        "StatusChange": obj(json!({"status": {"enum": ["active", "inactive", "archived", "deceased"]}, "reason": s}), &["status"]),
        "Document": obj(json!({
            "id": id, "patient_id": id, "series_id": id, "version": {"type": "integer"}, "category": s, "title": s,
            "file_name": s, "content_type": s, "size": {"type": "integer"}, "sha256": s, "uploaded_by": s, "uploaded_at": s
        }), &["id", "patient_id", "version", "category", "sha256"]),
        "DocumentList": obj(json!({"items": {"type": "array", "items": {"$ref": "#/components/schemas/Document"}}}), &["items"]),
        "MergeRequest": obj(json!({"merged": id}), &["merged"]),
        "MergeCreated": obj(json!({"merge_id": id}), &["merge_id"]),
        "Family": obj(json!({"id": id, "guarantor_patient_id": {"type": ["string", "null"]}, "guarantor_name": s, "members": {"type": "array", "items": {"$ref": "#/components/schemas/PatientSummary"}}}), &["id", "members"]),
        "ImportRun": obj(json!({
            "id": id, "file_name": s, "status": {"enum": ["running", "done", "failed"]}, "dry_run": {"type": "boolean"},
            "total_rows": {"type": "integer"}, "processed": {"type": "integer"}, "created": {"type": "integer"},
            "skipped": {"type": "integer"}, "failed": {"type": "integer"},
            "errors": {"type": "array", "items": obj(json!({"line": {"type": "integer"}, "field": s, "message": s, "warning": {"type": "boolean"}}), &["line", "field", "message"])}
        }), &["id", "status"]),
    });
    if let (Some(m), Value::Object(more)) =
        (all.as_object_mut(), scheduling_schemas(&s, &id, &date))
    {
        m.extend(more);
    }
    if let (Some(m), Value::Object(more)) = (all.as_object_mut(), clinical_schemas(&s)) {
        m.extend(more);
    }
    if let (Some(m), Value::Object(more)) = (all.as_object_mut(), plan_schemas(&s, &id)) {
        m.extend(more);
    }
    if let (Some(m), Value::Object(more)) = (all.as_object_mut(), rx_schemas(&s, &id)) {
        m.extend(more);
    }
    if let (Some(m), Value::Object(more)) = (all.as_object_mut(), billing_schemas(&s, &id)) {
        m.extend(more);
    }
    all
}

/// Payments and accounts.
fn billing_schemas(s: &Value, id: &Value) -> Value {
    let (s, id) = (s.clone(), id.clone());
    let int = json!({"type": "integer"});
    let cut = obj(
        json!({"kind": {"enum": ["percent", "amount"]}, "value": {"type": "integer", "minimum": 0, "description": "basis points for percent, minor units for amount"}}),
        &["kind", "value"],
    );
    let mut out = Map::new();
    out.insert(
        "InvoiceNew".into(),
        obj(
            json!({
                "patient_id": id, "location_id": id,
                "lines": {"type": "array", "minItems": 1, "maxItems": 200, "items": obj(json!({
                    "kind": {"enum": ["procedure", "medicine", "product", "service"]},
                    "charge_id": id, "code": s, "description": s,
                    "quantity": {"type": "integer", "minimum": 1, "maximum": 10000},
                    "unit": {"type": "integer", "minimum": 0, "description": "minor units"},
                    "discount": cut.clone(), "discount_reason": s,
                    "tax_bp": {"type": "integer", "minimum": 0, "maximum": 10000}
                }), &["kind"])},
                "discount": cut.clone(), "discount_reason": s, "notes": s,
                "due_on": {"type": "string", "format": "date"}, "issue": {"type": "boolean"}
            }),
            &["patient_id", "lines"],
        ),
    );
    out.insert("InvoiceVoid".into(), obj(json!({"reason": s}), &["reason"]));
    out.insert(
        "Invoice".into(),
        obj(
            json!({
                "id": id, "number": {"type": ["integer", "null"]}, "label": {"type": ["string", "null"]},
                "status": {"enum": ["draft", "issued", "partly_paid", "paid", "void"]},
                "patient_id": id, "location_id": id, "currency": s,
                "lines": {"type": "array", "items": {"type": "object"}},
                "subtotal": int, "discount_amount": int, "tax": int, "total": int, "paid": int, "due": int,
                "issued_on": {"type": ["string", "null"], "format": "date"}, "due_on": {"type": ["string", "null"], "format": "date"}
            }),
            &["id", "status", "patient_id", "currency", "lines", "total", "paid", "due"],
        ),
    );
    out.insert(
        "InvoiceList".into(),
        obj(json!({"invoices": {"type": "array", "items": {"$ref": "#/components/schemas/Invoice"}}}), &["invoices"]),
    );
    out.insert(
        "PaymentNew".into(),
        obj(
            json!({
                "patient_id": id, "amount": {"type": "integer", "minimum": 1, "description": "minor units"},
                "currency": {"type": "string", "description": "ISO 4217; must be the books' currency"},
                "method": {"enum": ["cash", "card", "cheque", "bank_transfer", "insurance", "credit"]},
                "location_id": id, "reference": s, "rest_to_credit": {"type": "boolean"},
                "invoice_id": id, "payment_plan_id": id,
                "allocations": {"type": "array", "items": obj(json!({"charge_id": id, "amount": int}), &["charge_id", "amount"])}
            }),
            &["patient_id", "amount", "currency", "method"],
        ),
    );
    out.insert(
        "Payment".into(),
        obj(
            json!({
                "id": id, "patient_id": id, "amount": int, "currency": s, "method": s, "posted_on": s,
                "to_credit": int,
                "postings": {"type": "array", "items": obj(json!({"id": id, "seq": int, "kind": s, "amount": int, "currency": s, "posted_on": s, "allocations": {"type": "array", "items": {"type": "object"}}}), &["id", "seq", "kind", "amount"])}
            }),
            &["id", "patient_id", "amount", "currency", "postings"],
        ),
    );
    out.insert(
        "PaymentPlanNew".into(),
        obj(
            json!({
                "principal": {"type": "integer", "minimum": 1, "description": "minor units, at most what is owed"},
                "down_payment": {"type": "integer", "minimum": 0},
                "annual_rate_bp": {"type": "integer", "minimum": 0, "maximum": 3600, "description": "basis points a year"},
                "installments": {"type": "integer", "minimum": 1, "maximum": 520},
                "frequency": {"enum": ["weekly", "monthly"]},
                "first_due": {"type": "string", "format": "date"}
            }),
            &["principal", "installments", "frequency", "first_due"],
        ),
    );
    out.insert(
        "PaymentPlan".into(),
        obj(
            json!({
                "id": id, "reference": s, "patient_id": id, "currency": s, "principal": int, "down_payment": int,
                "annual_rate_bp": int, "frequency": s, "interest": int, "total": int, "paid": int,
                "down_payment_left": int, "completed": {"type": "boolean"},
                "overdue": {"type": "array", "items": int},
                "installments": {"type": "array", "items": obj(json!({"n": int, "due": s, "amount": int, "principal": int, "interest": int, "balance_after": int, "left": int}), &["n", "due", "amount"])}
            }),
            &["id", "reference", "patient_id", "installments", "paid", "overdue"],
        ),
    );
    out.insert(
        "Account".into(),
        obj(
            json!({
                "patient_id": id, "as_of": s, "currency": s, "balance": int, "credit": int, "charged": int, "paid": int,
                "aging": obj(json!({"current": int, "over_30": int, "over_60": int, "over_90": int, "over_120": int}), &["current", "over_30", "over_60", "over_90", "over_120"])
            }),
            &["patient_id", "as_of", "currency", "balance", "credit", "aging"],
        ),
    );
    Value::Object(out)
}

/// The prescriptions API's schemas.
fn rx_schemas(s: &Value, id: &Value) -> Value {
    let int = json!({"type": "integer", "minimum": 0});
    let warning = obj(
        json!({"kind": {"enum": ["allergy", "cross_reactivity", "interaction", "duplicate", "condition"]},
               "code": s, "severity": {"enum": ["major", "moderate"]}, "subject": s, "message": s}),
        &["kind", "code", "severity", "message"],
    );
    json!({
        "Medicine": obj(json!({
            "id": id, "name": s, "strength": s, "form": s,
            "route": {"enum": domain::clinical::rx::ROUTES}, "dose": s, "frequency": s,
            "duration_days": int, "quantity": int, "directions": s,
            "classes": {"type": "array", "items": s}, "controlled": {"type": "boolean"}, "active": {"type": "boolean"}
        }), &["id", "name", "route", "active"]),
        "MedicineList": list("Medicine"),
        "RxWarning": warning,
        "PrescriptionNew": obj(json!({
            "medicine_id": id, "visit_id": id, "dose": s, "route": {"enum": domain::clinical::rx::ROUTES},
            "frequency": s, "duration_days": int, "quantity": int, "refills": int, "instructions": s,
            "override_reason": {"type": "string", "description": "required when the checks warn"}
        }), &["medicine_id"]),
        "Prescription": obj(json!({
            "id": id, "number": {"type": "integer"}, "reference": s, "patient_id": id,
            "visit_id": {"type": ["string", "null"]}, "medicine_id": {"type": ["string", "null"]},
            "medicine": obj(json!({"name": s, "strength": s, "form": s, "classes": {"type": "array", "items": s}, "controlled": {"type": "boolean"}}), &["name"]),
            "dose": s, "route": s, "frequency": s, "duration_days": int, "quantity": int, "refills": int, "instructions": s,
            "warnings": {"type": "array", "items": {"$ref": "#/components/schemas/RxWarning"}},
            "override_reason": s,
            "prescriber": obj(json!({"id": id, "name": s, "licence_number": s, "npi": s}), &["name", "licence_number"]),
            "prescribed_at": s, "ends_at": s, "status": {"enum": ["active", "ended", "cancelled"]},
            "cancelled": {"type": ["object", "null"]}
        }), &["id", "number", "reference", "medicine", "status", "prescriber"]),
        "PrescriptionList": list("Prescription"),
        "TreatmentCaseNew": obj(json!({"title": s, "notes": s, "dentist_id": id}), &["title"]),
        "TreatmentCase": obj(json!({
            "id": id, "number": {"type": "integer"}, "reference": s, "patient_id": id,
            "dentist_id": {"type": ["string", "null"]}, "title": s, "notes": s,
            "status": {"enum": ["open", "closed"]}, "opened_at": s, "opened_by": s,
            "closed_at": {"type": ["string", "null"]}, "version": {"type": "integer"},
            "counts": {"type": "object"},
            "diagnoses": {"type": "array", "items": {"$ref": "#/components/schemas/ChartEntry"}},
            "procedures": {"type": "array", "items": {"$ref": "#/components/schemas/ChartEntry"}},
            "prescriptions": {"type": "array", "items": id},
            "documents": {"type": "array", "items": id}
        }), &["id", "number", "reference", "title", "status"]),
        "TreatmentCaseList": list("TreatmentCase"),
    })
}

/// The charting API's schemas.
fn clinical_schemas(s: &Value) -> Value {
    json!({
        "ProcedureCode": obj(json!({
            "code": s, "name": s, "kind": {"enum": ["procedure", "condition"]}, "category": s,
            "minutes": {"type": "integer"}, "site": {"enum": ["mouth", "tooth", "surfaces", "area"]},
            "dentist_only": {"type": "boolean"}, "fee_minor": {"type": "integer"},
            "icd10": {"type": ["string", "null"]}, "effect": s, "active": {"type": "boolean"}
        }), &["code", "name", "kind", "site"]),
        "ProcedureCodeList": obj(json!({"items": {"type": "array", "items": {"$ref": "#/components/schemas/ProcedureCode"}}}), &["items"]),
        "ProcedureNew": obj(json!({
            "code": s,
            "tooth": {"type": ["string", "integer"], "description": "FDI (ISO 3950): 11-48, 51-85"},
            "area": {"type": "string", "description": "UR, UL, LL, LR, U, L, S1-S6 or mouth"},
            "surfaces": {"type": "string", "description": "M, O, I, D, B/F, L/P, e.g. MOD"},
            "status": {"enum": ["existing", "planned", "completed", "condition"]},
            "note": s, "override_reason": s, "base_version": {"type": "integer"}
        }), &["code"]),
        "ProcedureChange": obj(json!({"action": {"enum": ["complete", "void"]}, "reason": s, "base_version": {"type": "integer"}}), &["action"]),
        "ChartEntry": obj(json!({
            "id": s, "code": s, "name": s, "kind": s, "tooth": {"type": ["integer", "null"]},
            "surfaces": {"type": ["string", "null"]}, "area": {"type": ["string", "null"]},
            "status": s, "note": s, "override_reason": {"type": ["string", "null"]},
            "recorded_by": s, "recorded_at": s, "completed_at": {"type": ["string", "null"]},
            "voided_at": {"type": ["string", "null"]}, "void_reason": {"type": ["string", "null"]},
            "version": {"type": "integer"}
        }), &["id", "code", "status", "version"]),
        "Chart": obj(json!({
            "patient_id": s, "version": {"type": "integer"}, "numbering": {"enum": ["fdi", "universal", "palmer"]},
            "teeth": {"type": "array", "items": {"type": "object"}},
            "entries": {"type": "array", "items": {"$ref": "#/components/schemas/ChartEntry"}}
        }), &["version", "teeth", "entries"])
    })
}

/// Treatment plans, visit series and tasks.
fn plan_schemas(s: &Value, id: &Value) -> Value {
    let (s, id) = (s.clone(), id.clone());
    let int = json!({"type": "integer"});
    let ns = json!({"type": ["string", "null"]});
    let mut out = Map::new();
    let mut put = |k: &str, v: Value| {
        out.insert(k.to_string(), v);
    };
    put(
        "PlanProcedureNew",
        obj(
            json!({
                "code": s,
                "tooth": {"type": "string", "description": "FDI (ISO 3950)"},
                "area": {"type": "string", "description": "UR, UL, LL, LR, U, L, S1-S6 or mouth"},
                "surfaces": {"type": "string", "description": "e.g. MOD"},
                "priority": {"enum": ["routine", "soon", "urgent"]},
                "phase": {"type": "integer", "minimum": 1, "maximum": 9},
                "diagnosis": s
            }),
            &["code"],
        ),
    );
    put(
        "TreatmentPlanNew",
        obj(
            json!({
                "name": s,
                "procedures": {"type": "array", "items": {"$ref": "#/components/schemas/PlanProcedureNew"}},
                "alternative_of": id
            }),
            &["procedures"],
        ),
    );
    put(
        "PlanProcedure",
        obj(
            json!({
                "id": id, "code": s, "name": s, "category": s, "tooth": ns, "area": ns, "surfaces": ns,
                "phase": int, "priority": s, "diagnosis": ns, "fee_minor": int, "minutes": int,
                "status": {"enum": ["planned", "scheduled", "in_progress", "completed", "declined"]},
                "appointment_id": ns, "seat_appointment_id": ns
            }),
            &["id", "code", "status"],
        ),
    );
    put(
        "TreatmentPlan",
        obj(
            json!({
                "id": id, "reference": s, "patient_id": id, "name": s,
                "status": {"enum": ["pending", "presented", "accepted", "declined", "in_progress", "completed"]},
                "procedures": {"type": "array", "items": {"$ref": "#/components/schemas/PlanProcedure"}},
                "total_value": {"type": "integer", "description": "minor units of the clinic's currency"},
                "complexity_score": int,
                "urgency": {"enum": ["routine", "soon", "urgent"]},
                "analysis": {"type": "object"},
                "routing": obj(json!({"route": {"enum": ["coordinator", "urgent_scheduling", "checkout"]}, "assignee_role": s, "urgency": s, "reason": s}), &["route"]),
                "version": int
            }),
            &[
                "id",
                "status",
                "procedures",
                "total_value",
                "complexity_score",
                "urgency",
                "routing",
            ],
        ),
    );
    put(
        "SeriesPreferences",
        obj(
            json!({
                "location_id": id, "provider_id": id, "hygienist_id": id,
                "days": {"type": "array", "items": {"enum": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}},
                "earliest": {"type": "string", "description": "HH:MM"}, "latest": {"type": "string", "description": "HH:MM"},
                "from": {"type": "string", "format": "date"}, "horizon_days": int,
                "slots": {"type": "array", "description": "accept only: the slots shown, one per visit", "items": obj(json!({"start": s, "operatory_id": id, "provider_id": id}), &["start", "operatory_id", "provider_id"])}
            }),
            &[],
        ),
    );
    put(
        "VisitSeries",
        obj(
            json!({
                "plan_id": id, "location_id": id,
                "visits": {"type": "array", "items": obj(json!({
                    "procedures": {"type": "array", "items": obj(json!({"id": id, "code": s, "tooth": ns, "area": ns, "surfaces": ns, "part": {"enum": ["whole", "prep", "seat"]}}), &["code", "part"])},
                    "duration_minutes": int,
                    "provider_kind": {"enum": ["dentist", "hygienist"]},
                    "slot": obj(json!({"start": s, "end": s, "operatory_id": id, "provider_id": id}), &["start", "operatory_id", "provider_id"])
                }), &["procedures", "duration_minutes", "slot"])},
                "constraints": {"type": "array", "items": {"type": "object"}},
                "appointment_ids": {"type": "array", "items": id}
            }),
            &["visits"],
        ),
    );
    put(
        "TaskCount",
        obj(json!({ "open": int, "urgent": int }), &["open", "urgent"]),
    );
    put(
        "TaskList",
        obj(
            json!({
                "open": int, "urgent": int,
                "items": {"type": "array", "items": obj(json!({"id": id, "kind": s, "title": s, "patient_id": ns, "plan_id": ns, "assignee_role": ns, "urgency": s, "due_at": ns, "status": {"enum": ["open", "done"]}}), &["id", "kind", "title", "status"])}
            }),
            &["open", "items"],
        ),
    );
    Value::Object(out)
}

/// The scheduling API's schemas (apart: one `json!` of them all is too deep for the macro).
fn scheduling_schemas(s: &Value, id: &Value, date: &Value) -> Value {
    let (s, id, date) = (s.clone(), id.clone(), date.clone());
    let mut out = Map::new();
    let mut put = |k: &str, v: Value| {
        out.insert(k.to_string(), v);
    };
    put(
        "Location",
        obj(
            json!({"id": id, "name": s, "time_zone": s, "currency": s, "locale": s, "opening_hours": s}),
            &["id", "name", "time_zone"],
        ),
    );
    put("LocationList", list("Location"));
    put(
        "Operatory",
        obj(
            json!({"id": id, "location_id": id, "name": s, "short_name": s, "sort_order": {"type": "integer"}}),
            &["id", "name"],
        ),
    );
    put("OperatoryList", list("Operatory"));
    put(
        "Provider",
        obj(
            json!({"id": id, "name": s, "colour": s, "kind": {"enum": ["dentist", "hygienist"]}}),
            &["id", "name", "kind"],
        ),
    );
    put("ProviderList", list("Provider"));
    put(
        "AppointmentType",
        obj(
            json!({"id": id, "name": s, "colour": s, "pattern": {"type": "string", "description": "X: the provider is needed; /: only the assistant or hygienist"}, "unit_minutes": {"enum": [5, 10]}, "duration_minutes": {"type": "integer"}}),
            &["id", "name", "pattern"],
        ),
    );
    put("AppointmentTypeList", list("AppointmentType"));
    put(
        "NewAppointment",
        obj(
            json!({
                "patient_id": id, "location_id": id, "operatory_id": id, "provider_id": id, "secondary_id": id,
                "appointment_type_id": id,
                "start": {"type": "string", "description": "RFC 3339 with its offset, or a local date-time at the location (a time in the spring gap is refused)"},
                "duration_minutes": {"type": "integer", "minimum": 1, "maximum": 720},
                "pattern": s, "notes": s, "override_reason": s
            }),
            &[],
        ),
    );
    put(
        "AppointmentChange",
        obj(
            json!({
                "version": {"type": "integer"}, "status": s, "cancel_reason": s, "start": s, "operatory_id": id, "provider_id": id,
                "secondary_id": {"type": ["string", "null"]}, "duration_minutes": {"type": "integer"},
                "appointment_type_id": {"type": ["string", "null"]}, "notes": s,
                "confirmation": {"enum": ["unconfirmed", "left_message", "confirmed", "declined"]}, "override_reason": s
            }),
            &[],
        ),
    );
    put(
        "Appointment",
        obj(
            json!({
                "id": id, "location_id": id, "operatory_id": id, "patient_id": id, "provider_id": id,
                "secondary_id": {"type": ["string", "null"]}, "appointment_type_id": {"type": ["string", "null"]},
                "start": s, "end": s, "duration_minutes": {"type": "integer"}, "pattern": s, "unit_minutes": {"type": "integer"},
                "status": {"enum": ["scheduled", "confirmed", "arrived", "seated", "completed", "no_show", "cancelled", "rescheduled"]},
                "confirmation": s, "reminders_sent": {"type": "integer"}, "late": {"type": "boolean"}, "notes": s,
                "cancel_reason": s, "override_reason": s, "version": {"type": "integer"},
                "rescheduled_from": {"type": ["string", "null"]}, "rescheduled_to": {"type": ["string", "null"]},
                "history": {"type": "array", "items": {"type": "object"}}
            }),
            &["id", "start", "end", "status", "version"],
        ),
    );
    put("AppointmentList", list("Appointment"));
    put(
        "Slot",
        obj(
            json!({"start": s, "end": s, "operatory_id": id, "provider_id": id}),
            &["start", "end", "operatory_id", "provider_id"],
        ),
    );
    put("SlotList", list("Slot"));
    put(
        "NewWaitlistEntry",
        obj(
            json!({
                "location_id": id, "patient_id": id, "appointment_type_id": id, "provider_id": id,
                "duration_minutes": {"type": "integer"}, "earliest": date, "latest": date,
                "weekdays": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 7}},
                "day_part": {"enum": ["any", "morning", "afternoon"]}, "notes": s
            }),
            &["location_id", "patient_id", "duration_minutes"],
        ),
    );
    put(
        "WaitlistEntry",
        obj(
            json!({"id": id, "patient_id": id, "patient_name": s, "duration_minutes": {"type": "integer"}, "day_part": s, "status": s}),
            &["id", "patient_id"],
        ),
    );
    put("WaitlistList", list("WaitlistEntry"));
    put(
        "Recall",
        obj(
            json!({"patient_id": id, "patient_name": s, "recall": s, "due_on": date, "last_done": {"type": ["string", "null"]}, "state": {"enum": ["not_due", "due_soon", "overdue"]}, "booked": {"type": "boolean"}}),
            &["patient_id", "due_on"],
        ),
    );
    put("RecallList", list("Recall"));
    put("Created", obj(json!({"id": id}), &["id"]));
    Value::Object(out)
}

/// The query parameters of the scheduling reads.
fn query_params(method: &str, path: &str) -> Vec<Value> {
    let q = |name: &str, ty: Value, required: bool, description: &str| json!({"name": name, "in": "query", "required": required, "schema": ty, "description": description});
    let uuid = json!({"type": "string", "format": "uuid"});
    let text = json!({"type": "string"});
    let when = "RFC 3339 with an offset, or a local date-time or date at the location";
    match (method, path) {
        (
            "GET",
            "/api/v1/operatories" | "/api/v1/providers" | "/api/v1/waitlist" | "/api/v1/recalls",
        ) => {
            vec![q("location_id", uuid, true, "the location")]
        }
        ("GET", "/api/v1/appointments") => vec![
            q("location_id", uuid, true, "the location"),
            q("from", text.clone(), false, when),
            q("to", text, false, when),
        ],
        ("GET", "/api/v1/slots") => vec![
            q("location_id", uuid.clone(), true, "the location"),
            q(
                "duration_minutes",
                json!({"type": "integer", "minimum": 5, "maximum": 720}),
                false,
                "the length (or give appointment_type_id)",
            ),
            q(
                "appointment_type_id",
                uuid.clone(),
                false,
                "its pattern and length",
            ),
            q(
                "provider_id",
                uuid.clone(),
                false,
                "only this provider (default: anyone)",
            ),
            q(
                "patient_id",
                uuid,
                false,
                "keep clear of the patient's other appointments",
            ),
            q("from", text.clone(), false, when),
            q("to", text, false, when),
            q(
                "limit",
                json!({"type": "integer", "minimum": 1, "maximum": 100, "default": 5}),
                false,
                "how many",
            ),
            q(
                "day_part",
                json!({"enum": ["any", "morning", "afternoon"]}),
                false,
                "mornings or afternoons only",
            ),
        ],
        ("POST", "/api/v1/payments") => vec![json!({
            "name": "Idempotency-Key", "in": "header", "required": true,
            "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            "description": "one key per payment: retries with it never pay twice"
        })],
        ("GET", "/api/v1/patients/{id}/account") => vec![q(
            "as_of",
            json!({"type": "string", "format": "date"}),
            false,
            "the day (YYYY-MM-DD); today at the patient's location by default",
        )],
        _ => Vec::new(),
    }
}

/// The whole document.
pub fn document() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for d in route_table()
        .iter()
        .filter(|d| d.path.starts_with("/api/v1/"))
    {
        let op = OPS
            .iter()
            .find(|o| o.method == d.method && o.path == d.path);
        let mut o = Map::new();
        o.insert("summary".into(), json!(op.map(|o| o.summary).unwrap_or("")));
        let (security, permission) = match d.access {
            Access::Public => (json!([]), Value::Null),
            Access::SignedIn => (json!([{"bearer": []}, {"session": []}]), Value::Null),
            Access::Perm(p) => (json!([{"bearer": []}, {"session": []}]), json!(p.code())),
        };
        o.insert("security".into(), security);
        if !permission.is_null() {
            o.insert("x-permission".into(), permission);
        }
        let params: Vec<Value> = d
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}))
            .chain(query_params(d.method, d.path))
            .chain(
                (d.method == "GET" && d.path == "/api/v1/patients")
                    .then(|| {
                        vec![
                            json!({"name": "q", "in": "query", "schema": {"type": "string"}}),
                            json!({"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}}),
                        ]
                    })
                    .into_iter()
                    .flatten(),
            )
            .collect();
        if !params.is_empty() {
            o.insert("parameters".into(), json!(params));
        }
        if let Some(req) = op.and_then(|o| o.request) {
            let content = if req == "multipart" {
                json!({"multipart/form-data": {"schema": obj(json!({"file": {"type": "string", "format": "binary"}, "category": {"type": "string"}, "title": {"type": "string"}, "replaces": {"type": "string", "format": "uuid"}}), &["file"])}})
            } else {
                json!({"application/json": {"schema": {"$ref": format!("#/components/schemas/{req}")}}})
            };
            o.insert(
                "requestBody".into(),
                json!({"required": true, "content": content}),
            );
        }
        let mut responses = Map::new();
        let status = op.map(|o| o.status).unwrap_or("200");
        let ok = match op.and_then(|o| o.response) {
            Some("pdf") => {
                json!({"description": "The PDF", "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}})
            }
            Some(r) => {
                json!({"description": "OK", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{r}")}}}})
            }
            None => json!({"description": "OK"}),
        };
        responses.insert(status.into(), ok);
        let problem = json!({"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}});
        for (code, what) in [
            ("401", "Not signed in"),
            ("403", "The role or token lacks the permission"),
            ("404", "Not found (or another organization's)"),
            ("422", "Invalid input, per field"),
        ] {
            if d.access != Access::Public || code == "422" {
                responses.insert(
                    code.into(),
                    json!({"description": what, "content": problem}),
                );
            }
        }
        o.insert("responses".into(), Value::Object(responses));
        let entry = paths.entry(d.path.to_string()).or_insert_with(|| json!({}));
        if let Some(m) = entry.as_object_mut() {
            m.insert(d.method.to_lowercase(), Value::Object(o));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Cuspid API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The JSON API of Cuspid. Sign in with a session cookie (POST /api/v1/session) or an API token (Authorization: Bearer). Errors are RFC 9457 problem documents with per-field errors."
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "an API token from /settings/api-tokens"},
                "session": {"type": "apiKey", "in": "cookie", "name": "__Host-cuspid_session"}
            }
        }
    })
}

/// `GET /api/v1/openapi.json`
pub async fn serve() -> Response {
    Json(document()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_api_route_is_described_with_its_permission() {
        let doc = document();
        let paths = doc["paths"].as_object().unwrap();
        let mut n = 0;
        for d in route_table()
            .iter()
            .filter(|d| d.path.starts_with("/api/v1/"))
        {
            n += 1;
            let op = &paths[d.path][d.method.to_lowercase()];
            assert!(
                !op["summary"].as_str().unwrap().is_empty(),
                "{} {} has no summary in OPS",
                d.method,
                d.path
            );
            if let Access::Perm(p) = d.access {
                assert_eq!(op["x-permission"], p.code(), "{} {}", d.method, d.path);
            }
        }
        assert!(n >= 15, "{n} API routes");
        // Every schema referenced exists.
        let text = doc.to_string();
        for r in text.split("#/components/schemas/").skip(1) {
            let name: String = r.chars().take_while(|c| c.is_alphanumeric()).collect();
            assert!(
                doc["components"]["schemas"].get(&name).is_some(),
                "{name} is referenced but not defined"
            );
        }
        for op in OPS {
            assert!(
                route_table()
                    .iter()
                    .any(|d| d.method == op.method && d.path == op.path),
                "{} {} is described but not routed",
                op.method,
                op.path
            );
        }
    }
}
