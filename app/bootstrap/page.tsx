import { BootstrapForm } from './bootstrap-form';

export default function BootstrapPage() {
  return <BootstrapForm />;
}
