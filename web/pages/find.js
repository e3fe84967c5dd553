// find.js — find a person by NHS number (with or without spaces), or by name
// and date of birth. The search goes in a POST body, never the address.
import { html, mount, href } from '../lib/html.js';
import { search, entries } from '../lib/api.js';
import { pageHeading, errorSummary, textInput, button, table, onSubmit } from '../lib/ui.js';
import { personName, nhsNumber, formatNhsNumber, nhsNumberValid, showDate, ageOn, NHS_NUMBER_SYSTEM } from '../lib/fhir.js';

export async function show(main, _params, app) {
  app.title('Find a person');
  mount(main, html`${pageHeading('Find a person')}
    <div id="find-errors"></div>
    <div class="nhsuk-grid-row"><div class="nhsuk-grid-column-one-half">
      <form id="by-nhs-number" novalidate>
        <h2 class="nhsuk-heading-m">By NHS number</h2>
        ${textInput({ id: 'nhs-number', label: 'NHS number', hint: '10 digits, for example 485 777 3456', width: 10, inputmode: 'numeric', autocomplete: 'off' })}
        ${button('Search by NHS number')}
      </form>
    </div><div class="nhsuk-grid-column-one-half">
      <form id="by-name" novalidate>
        <h2 class="nhsuk-heading-m">By name and date of birth</h2>
        ${textInput({ id: 'family', label: 'Last name', autocomplete: 'off', width: 20 })}
        ${textInput({ id: 'given', label: 'First name (optional)', autocomplete: 'off', width: 20 })}
        ${textInput({ id: 'birthdate', label: 'Date of birth', hint: 'For example 1941-03-27 or 27/03/1941', autocomplete: 'off', width: 10 })}
        ${button('Search by name')}
      </form>
    </div></div>
    <div id="results" aria-live="polite"></div>`);
  const errors = document.getElementById('find-errors');
  const results = document.getElementById('results');
  const fail = (list) => {
    mount(errors, errorSummary(list));
    errors.querySelector('.nhsuk-error-summary')?.focus();
  };
  const showResults = (people) => {
    mount(errors, html``);
    mount(results, html`<h2 class="nhsuk-heading-m">${people.length === 1 ? '1 person found' : `${people.length} people found`}</h2>
      ${table('People who match', ['Name', 'NHS number', 'Date of birth', 'Age', 'Postcode'], people.map((p) => [
        html`<a href="${href('person', p.id)}">${personName(p)}</a>`,
        formatNhsNumber(nhsNumber(p) ?? ''), showDate(p.birthDate), ageOn(p.birthDate) ?? '',
        p.address?.[0]?.postalCode ?? '',
      ]), { empty: 'No one matches. Check the details and try again.', id: 'people-found' })}`);
  };
  onSubmit(document.getElementById('by-nhs-number'), async (v) => {
    const digits = (v['nhs-number'] ?? '').replace(/[\s-]/g, '');
    if (!/^\d{10}$/.test(digits)) return fail([{ field: 'nhs-number', text: 'Enter an NHS number of 10 digits' }]);
    if (!nhsNumberValid(digits)) return fail([{ field: 'nhs-number', text: 'This is not a valid NHS number: check the digits' }]);
    const found = entries(await search('Patient', { identifier: `${NHS_NUMBER_SYSTEM}|${digits}` }), 'Patient');
    if (found.length === 1) { app.go('person', found[0].id); return; }
    showResults(found);
  });
  onSubmit(document.getElementById('by-name'), async (v) => {
    const list = [];
    const family = (v.family ?? '').trim();
    let dob = (v.birthdate ?? '').trim();
    const uk = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(dob);
    if (uk) dob = `${uk[3]}-${uk[2].padStart(2, '0')}-${uk[1].padStart(2, '0')}`;
    if (!family) list.push({ field: 'family', text: 'Enter a last name' });
    if (!/^\d{4}-\d{2}-\d{2}$/.test(dob)) list.push({ field: 'birthdate', text: 'Enter a date of birth, for example 27/03/1941' });
    if (list.length) return fail(list);
    const found = entries(await search('Patient', { family, given: (v.given ?? '').trim(), birthdate: dob, _count: 50 }), 'Patient');
    showResults(found);
  });
}
