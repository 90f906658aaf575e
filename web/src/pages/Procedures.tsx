// Procedimentos: the exams and consultations the clinic offers, with their price — create, edit,
// remove. A change reaches the doctors who offer the procedure (doctors.updated) on every screen.

import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { Procedure } from '../api/types';
import { describeError } from '../api/errors';
import { MoveButton } from '../components/MoveButton';
import { useStaff } from '../components/StaffContext';
import { useToast } from '../components/Toasts';
import { loadAll } from '../live/lists';
import { usePageTitle } from '../lib/hooks';

function money(price: string): string {
  const value = Number(price);
  return Number.isFinite(value) ? value.toLocaleString('pt-BR', { style: 'currency', currency: 'BRL' }) : price;
}

/** "120,50" or "120.50" → "120.50". */
function normalise(price: string): string {
  const text = price.trim();
  return text.includes(',') ? text.replace(/\./g, '').replace(',', '.') : text;
}

export function Procedures() {
  usePageTitle('Procedimentos');
  const { api } = useStaff();
  const toast = useToast();
  const [items, setItems] = useState<Procedure[] | null>(null);
  const [name, setName] = useState('');
  const [price, setPrice] = useState('');
  const [editing, setEditing] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      const { items } = await loadAll<Procedure>(api, '/api/procedures');
      setItems(items.sort((a, b) => a.name.localeCompare(b.name, 'pt-BR')));
    } catch (err) {
      toast.show(describeError(err), 'error');
      setItems([]);
    }
  }, [api, toast]);

  useEffect(() => void load(), [load]);

  const reset = () => {
    setName('');
    setPrice('');
    setEditing(null);
  };

  const save = async (event: FormEvent) => {
    event.preventDefault();
    if (!name.trim() || !price.trim()) {
      toast.show('Informe o nome e o preço.', 'error');
      return;
    }
    setBusy(true);
    try {
      const body = { name: name.trim(), price: normalise(price) };
      if (editing) await api.patch(`/api/procedures/${editing}`, body);
      else await api.post('/api/procedures', body);
      toast.show(editing ? 'Procedimento atualizado.' : 'Procedimento cadastrado.', 'success');
      reset();
      await load();
    } catch (err) {
      toast.show(describeError(err), 'error');
    } finally {
      setBusy(false);
    }
  };

  const remove = async (p: Procedure) => {
    try {
      await api.delete(`/api/procedures/${p.id}`);
      toast.show(`${p.name} removido.`, 'success');
      if (editing === p.id) reset();
      await load();
    } catch (err) {
      toast.show(describeError(err), 'error');
    }
  };

  return (
    <section className="narrow registers" data-testid="procedures-page" data-loaded={items !== null}>
      <div className="page-head">
        <div>
          <h1>Procedimentos</h1>
          <p className="muted">Consultas e exames oferecidos, com o preço. Os médicos escolhem os seus em Médicos.</p>
        </div>
      </div>
      <div className="card">
        <h2 className="card-title">{editing ? 'Editar procedimento' : 'Novo procedimento'}</h2>
        <form className="inline-form" onSubmit={save} data-testid="procedure-form">
          <label className="field grow">
            <span>Nome</span>
            <input name="name" placeholder="Ex.: Ultrassom de abdome" value={name} onChange={(e) => setName(e.target.value)} />
          </label>
          <label className="field">
            <span>Preço (R$)</span>
            <input name="price" inputMode="decimal" placeholder="150,00" value={price} onChange={(e) => setPrice(e.target.value)} />
          </label>
          <button className="btn btn-primary" type="submit" disabled={busy} data-testid="save-procedure">
            {editing ? 'Salvar' : 'Cadastrar'}
          </button>
          {editing && (
            <button className="btn btn-ghost" type="button" onClick={reset}>
              Cancelar
            </button>
          )}
        </form>
      </div>
      <div className="card">
        {items === null ? (
          <p className="empty">Carregando…</p>
        ) : items.length === 0 ? (
          <p className="empty">Nenhum procedimento cadastrado.</p>
        ) : (
          <ul className="rows" data-testid="procedure-rows">
            {items.map((p) => (
              <li key={p.id} className="row register-row" data-procedure-id={p.id}>
                <span className="who">
                  <span className="patient">{p.name}</span>
                  <span className="muted small">{money(p.price)}</span>
                </span>
                <span className="actions">
                  <button
                    className="btn btn-small btn-neutral"
                    data-action="edit"
                    onClick={() => {
                      setEditing(p.id);
                      setName(p.name);
                      setPrice(p.price.replace('.', ','));
                    }}
                  >
                    Editar
                  </button>
                  <MoveButton
                    move={{ action: 'remove', label: 'Remover', tone: 'danger', confirm: 'Remover este procedimento?' }}
                    onRun={() => void remove(p)}
                  />
                </span>
              </li>
            ))}
          </ul>
        )}
      </div>
    </section>
  );
}
