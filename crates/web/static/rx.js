// Prescriptions: choosing a medicine loads its defaults and the checks against the patient's
// record at once (the form still works without this: the Use button submits it). The
// override reason gets the focus when there are warnings to answer.

for (const select of document.querySelectorAll("select[data-autosubmit]")) {
  select.addEventListener("change", () => {
    if (select.value) select.form.requestSubmit();
  });
}

const reason = document.getElementById("override_reason");
if (reason && document.getElementById("rx-warnings") && !reason.value) {
  reason.focus();
}
