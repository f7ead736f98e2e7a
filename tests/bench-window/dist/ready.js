// Reports the first paint exactly as the DataOptix UI does: after the frame that draws the page.
requestAnimationFrame(() => {
  requestAnimationFrame(() => {
    window.__TAURI_INTERNALS__.invoke('first_screen_painted', { screen: 'baseline' });
  });
});
