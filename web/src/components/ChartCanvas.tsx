// One Chart.js chart on a canvas: created on mount, updated in place when its data or options
// change, destroyed on unmount. Registers only the parts the reports use (lines, bars and the
// matrix of chartjs-chart-matrix for the heatmap).

import { useEffect, useRef } from 'react';
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  type ChartConfiguration,
  type ChartType,
} from 'chart.js';
import { MatrixController, MatrixElement } from 'chartjs-chart-matrix';

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  MatrixController,
  MatrixElement,
);

interface Props<T extends ChartType> {
  config: ChartConfiguration<T>;
  label: string;
  testId: string;
  height?: number;
}

export function ChartCanvas<T extends ChartType>({ config, label, testId, height = 280 }: Props<T>) {
  const canvas = useRef<HTMLCanvasElement | null>(null);
  const chart = useRef<Chart<T> | null>(null);

  useEffect(() => {
    if (!canvas.current) return;
    chart.current = new Chart(canvas.current, config);
    return () => {
      chart.current?.destroy();
      chart.current = null;
    };
    // The chart is made once; later configs are applied below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    const current = chart.current;
    if (!current) return;
    current.data = config.data;
    if (config.options) current.options = config.options;
    current.update();
  }, [config]);

  return (
    <div className="chart-box" style={{ height }}>
      <canvas ref={canvas} role="img" aria-label={label} data-testid={testId} />
    </div>
  );
}
