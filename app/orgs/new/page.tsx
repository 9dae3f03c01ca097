import { NewOrgForm } from './new-org-form';

export default function NewOrgPage() {
  return <NewOrgForm />;
}
