// "Link" on a queue or agenda row: a live status page for the patient, as a QR code to scan at
// the desk, a link to copy, and a WhatsApp message (wa.me, nothing paid) that carries only the
// link and the clinic's name. "Revogar" ends every link of the appointment.

import { useEffect, useState } from 'react';
import QRCode from 'qrcode';
import type { Appointment, StatusLink } from '../api/types';
import { describeError } from '../api/errors';
import { useStaff } from './StaffContext';
import { useToast } from './Toasts';
import { Modal } from './Modal';

/** The patient's phone as wa.me wants it: digits with the country code (55 when missing). */
export function whatsappNumber(phone: string | null | undefined): string | null {
  const digits = (phone ?? '').replace(/\D/g, '');
  if (digits.length === 10 || digits.length === 11) return `55${digits}`;
  if (digits.length >= 12 && digits.length <= 13) return digits;
  return null;
}

export function whatsappUrl(phone: string | null | undefined, clinic: string, url: string): string {
  const text = `${clinic}: acompanhe sua vez na fila por este link ${url}`;
  const number = whatsappNumber(phone);
  return `https://wa.me/${number ?? ''}?text=${encodeURIComponent(text)}`;
}

export function StatusLinkButton({ appointment }: { appointment: Appointment }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button className="btn btn-small btn-ghost" data-testid="status-link-button" title="Link de acompanhamento para o paciente" onClick={() => setOpen(true)}>
        Link
      </button>
      {open && <StatusLinkDialog appointment={appointment} onClose={() => setOpen(false)} />}
    </>
  );
}

function StatusLinkDialog({ appointment, onClose }: { appointment: Appointment; onClose: () => void }) {
  const { api, account } = useStaff();
  const toast = useToast();
  const [link, setLink] = useState<StatusLink | null>(null);
  const [qr, setQr] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    api
      .post<StatusLink>(`/api/appointments/${appointment.id}/status-link`)
      .then(async ({ data }) => {
        if (!live) return;
        setLink(data);
        const image = await QRCode.toDataURL(data.url, { margin: 1, width: 240 });
        if (live) setQr(image);
      })
      .catch((err) => live && setError(describeError(err)));
    return () => {
      live = false;
    };
  }, [api, appointment.id]);

  const copy = async () => {
    if (!link) return;
    try {
      await navigator.clipboard.writeText(link.url);
      toast.show('Link copiado.', 'success');
    } catch {
      toast.show('Não foi possível copiar; selecione o link e copie.', 'error');
    }
  };

  const revoke = async () => {
    try {
      await api.delete(`/api/appointments/${appointment.id}/status-link`);
      toast.show('Links deste agendamento revogados.', 'success');
      onClose();
    } catch (err) {
      toast.show(describeError(err), 'error');
    }
  };

  const phone = appointment.patient?.contact?.phone ?? null;
  return (
    <Modal title={`Acompanhamento de ${appointment.patient?.name ?? 'paciente'}`} onClose={onClose}>
      {error && <p className="form-error" role="alert">{error}</p>}
      {!link && !error && <p className="muted">Gerando o link…</p>}
      {link && (
        <div className="status-link" data-testid="status-link">
          {qr && <img className="status-link-qr" src={qr} alt="QR code do link" width={240} height={240} data-testid="status-link-qr" />}
          <p className="muted small">O paciente lê o QR code com a câmera do celular e acompanha a fila ao vivo.</p>
          <div className="key-box">
            <code data-testid="status-link-url">{link.url}</code>
            <button className="btn btn-small btn-neutral" onClick={() => void copy()} data-testid="status-link-copy">
              Copiar
            </button>
          </div>
          <p className="muted small">Vale até o fim do dia do agendamento.</p>
          <div className="new-key-actions">
            <a
              className="btn btn-primary"
              href={whatsappUrl(phone, account.name, link.url)}
              target="_blank"
              rel="noreferrer"
              data-testid="status-link-whatsapp"
            >
              Enviar por WhatsApp{whatsappNumber(phone) ? '' : ' (escolher contato)'}
            </a>
            <button className="btn btn-danger" onClick={() => void revoke()} data-testid="status-link-revoke">
              Revogar links
            </button>
          </div>
        </div>
      )}
    </Modal>
  );
}
