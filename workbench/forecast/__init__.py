"""Revenue forecasts with calibrated prediction intervals: a combination of simple models,
weighted and checked by a rolling-origin backtest.

The engine behind notebook 01's forecast cells, notebook 03's territory forecasts and
``workbench forecast``. For every series it

1. decides the season length from the periods (quarters: 4, months: 12);
2. backtests every candidate from several forecast origins near the end of the series (each
   origin sees only the data before it), scoring MASE, sMAPE, interval coverage and the
   Winkler interval score;
3. builds the **combination** of the member models (ETS, ARIMA, Theta, Holt-Winters): their
   forecasts and interval bounds averaged with weights ∝ 1 / backtest MASE. In the backtest
   each origin's combination is weighted on the *other* origins only, so its score never saw
   its own errors;
4. chooses (``select``): ``combination`` (default) always forecasts with the combination;
   ``guarded`` falls back to a baseline that beat it in the backtest; ``best`` takes the
   lowest backtest MASE of all candidates;
5. refits on the whole series and forecasts ``horizon`` periods ahead;
6. calibrates the intervals **per step** on the backtest (split-conformal): the chosen
   candidate's backtest errors, as multiples of its own interval half-widths, give the factor
   that covers ``level`` of them — from the series' own errors at that step when it has
   ``MIN_STEP_POINTS``, else its errors over all steps (``MIN_CALIBRATION_POINTS``), else
   the panel's (every series forecast together) at that step. ``calibration="pooled"`` always
   uses the panel's.

Candidates (formulas and choices: ``docs/potential.md``):

``naive``, ``seasonal_naive``
    The baselines: last value, interval ``± z σ √h``; value one season earlier, interval
    ``± z σ_s √(k + 1)``, ``k = ⌊(h − 1)/m⌋``.
``ets``
    statsmodels ``ETSModel`` with additive errors on log values (so seasonality and growth are
    multiplicative) when every value is positive, on the values otherwise; seasonal with two
    full seasons of data; trend (none or damped) and season chosen by AICc.
``sarimax``
    statsmodels ``SARIMAX`` on the same scale: ``(0,0,0)(0,1,0)m + c`` below four seasons,
    ``(1,0,0)(0,1,1)m + c`` from four.
``theta``
    The Theta method (Assimakopoulos & Nikolopoulos 2000, as Hyndman & Billah 2003): classical
    seasonal adjustment when lag-``m`` autocorrelation is significant at 90 %, simple
    exponential smoothing plus half the linear trend's slope; interval of SES with drift.
``sarimax_x``
    SARIMAX with the economic indicators as regressors (only when ``exog`` is given), their
    future held at the last value in backtest and forecast alike; a member only where given.
``holt_winters``
    Damped additive Holt-Winters on the values (the other members work on logs): the classic
    the issue measured the engine against, here one voice of the combination.

Series shorter than two seasons (fewer than 8 quarters or 24 months) get the naive method and
a :class:`ShortSeriesWarning`, never an error. ``n_jobs`` fits series in parallel processes;
results do not depend on it.
"""

from .command import ForecastInputError, read_series_csv, run_forecast_command
from .engine import (
    COMBINATION,
    MAX_WIDEN,
    MIN_CALIBRATION_POINTS,
    MIN_STEP_POINTS,
    MIN_WIDEN,
    Forecaster,
    ForecastResults,
    ShortSeriesWarning,
    forecast_series,
    mase,
    one_blas_thread,
    smape,
)
from .methods import (
    BASELINES,
    MEMBERS,
    METHODS,
    SEASON_LENGTH,
    format_period,
    parse_period,
)
from .plots import plot_fan_chart
from .series import forecast_revenue, forecast_stage, plan_revenue_series, revenue_series

__all__ = [
    "BASELINES",
    "COMBINATION",
    "MAX_WIDEN",
    "MEMBERS",
    "METHODS",
    "MIN_CALIBRATION_POINTS",
    "MIN_STEP_POINTS",
    "MIN_WIDEN",
    "SEASON_LENGTH",
    "ForecastInputError",
    "ForecastResults",
    "Forecaster",
    "ShortSeriesWarning",
    "forecast_revenue",
    "forecast_series",
    "forecast_stage",
    "format_period",
    "mase",
    "one_blas_thread",
    "parse_period",
    "plan_revenue_series",
    "plot_fan_chart",
    "read_series_csv",
    "revenue_series",
    "run_forecast_command",
    "smape",
]
