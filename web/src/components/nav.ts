// The staff screens in the navigation, in order. A new screen is one more entry here (and its
// <Route> in main.tsx); the top bar and the phone/tablet menu both read this list.

export interface NavItem {
  to: string;
  label: string;
  /** Only the account's master user sees it. */
  masterOnly?: boolean;
  /** Opens in a new tab (the TV panel). */
  newTab?: boolean;
}

export const NAV_ITEMS: NavItem[] = [
  { to: '/agenda', label: 'Agenda' },
  { to: '/fila', label: 'Fila de espera' },
  { to: '/pacientes', label: 'Pacientes' },
  { to: '/painel', label: 'Painel', newTab: true },
  { to: '/acesso-api', label: 'Acesso à API', masterOnly: true },
  { to: '/relatorios', label: 'Relatórios' },
  { to: '/medicos', label: 'Médicos' },
  { to: '/procedimentos', label: 'Procedimentos' },
  { to: '/equipe', label: 'Equipe', masterOnly: true },
  { to: '/configuracoes', label: 'Configurações', masterOnly: true },
];
