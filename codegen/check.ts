// Type-checked with the generated code (`npm run check`): the documents are typed, and an
// operation's result type is what the dashboard reads.
import type { ResultOf, VariablesOf } from '@graphql-typed-document-node/core';
import { AppointmentsPageDocument, CreateAppointmentDocument } from './generated/graphql';

type Page = ResultOf<typeof AppointmentsPageDocument>;
type Booking = VariablesOf<typeof CreateAppointmentDocument>;

export const firstStart = (page: Page): string | undefined => page.appointments.nodes[0]?.startsAt;
export const booking: Booking = {
  input: { customerId: 'c', serviceId: 's', startsAt: '2026-12-25T10:00:00-03:00' },
};
